"""SSH worker targets, the ssh argv and the remote shell text (docs/workers.md)."""

from __future__ import annotations

import shlex
import subprocess

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from symphony.ssh import (
    PGID_MARKER,
    SshTarget,
    TargetError,
    agent_script,
    exports,
    kill_group_script,
    local_ssh_script,
    parse_target,
    remote_login_command,
    remote_path,
    ssh_argv,
    unsets,
    valid_remote_path,
)


@pytest.mark.parametrize(
    ("raw", "host", "user", "port", "destination"),
    [
        ("build-1", "build-1", None, None, "build-1"),
        ("build-1.example.com:2222", "build-1.example.com", None, 2222, "build-1.example.com"),
        ("ci@10.0.0.5:22", "10.0.0.5", "ci", 22, "ci@10.0.0.5"),
        ("ci@worker", "worker", "ci", None, "ci@worker"),
        ("[::1]:2200", "::1", None, 2200, "::1"),
        ("[fe80::1%eth0]", "fe80::1%eth0", None, None, "fe80::1%eth0"),
        ("deploy@[2001:db8::7]:22", "2001:db8::7", "deploy", 22, "deploy@2001:db8::7"),
    ],
)
def test_targets_parse_in_every_documented_form(
    raw: str, host: str, user: str | None, port: int | None, destination: str
) -> None:
    target = parse_target(raw)
    assert (target.host, target.user, target.port) == (host, user, port)
    assert target.raw == raw
    assert target.destination == destination


@pytest.mark.parametrize(
    ("raw", "needle"),
    [
        ("", "empty"),
        ("   ", "empty"),
        ("::1", "bare IPv6"),
        ("[::1", "without closing"),
        ("[::1]2200", "no :port"),
        ("[]:22", "no IPv6 address"),
        ("[host]:22", "no IPv6 address"),
        ("host:0", "invalid port"),
        ("host:65536", "invalid port"),
        ("host:ssh", "invalid port"),
        ("host:", "invalid port"),
        ("-oProxyCommand=x", "invalid host name"),
        ("bad host", "invalid host name"),
        ("a;b", "invalid host name"),
        ("@host", "invalid user"),
        ("us er@host", "invalid user"),
    ],
)
def test_invalid_targets_say_what_is_wrong_and_name_the_key(raw: str, needle: str) -> None:
    with pytest.raises(TargetError) as caught:
        parse_target(raw)
    assert str(caught.value).startswith("worker.ssh_hosts: ")
    assert needle in str(caught.value)


def test_the_argv_sets_batch_mode_timeouts_and_keep_alive() -> None:
    argv = ssh_argv(parse_target("ci@[::1]:2200"), "true", config_file="/etc/cfg")
    assert argv[:5] == ["ssh", "-F", "/etc/cfg", "-T", "-p"]
    assert argv[5] == "2200"
    options = [argv[i + 1] for i, a in enumerate(argv) if a == "-o"]
    assert "BatchMode=yes" in options
    assert any(o.startswith("ConnectTimeout=") for o in options)
    assert any(o.startswith("ServerAliveInterval=") for o in options)
    assert any(o.startswith("ServerAliveCountMax=") for o in options)
    assert argv[-3:] == ["--", "ci@::1", "true"]
    assert "-F" not in ssh_argv(parse_target("h"), "true")


@settings(max_examples=25, deadline=None)
@given(
    st.text(
        alphabet=st.characters(blacklist_characters="\0", blacklist_categories=("Cs",)),
        max_size=40,
    )
)
def test_scripts_survive_both_shells_unchanged(text: str) -> None:
    # The remote user's shell gets `bash -lc <script>`; the script prints the text back.
    script = f"printf %s {shlex.quote(text)}"
    command = remote_login_command(script)
    out = subprocess.run(
        ["bash", "--norc", "-c", command.replace("bash -lc", "bash --norc -c", 1)],
        capture_output=True,
        timeout=10,
        check=False,
    )
    assert out.stdout.decode("utf-8", "surrogateescape") == text


def test_local_script_execs_ssh_with_the_quoted_remote_command() -> None:
    text = local_ssh_script(SshTarget("h", "h"), "echo 'a b'", config="/c f")
    words = shlex.split(text)
    assert words[0] == "exec" and words[1] == "ssh"
    assert words[2:4] == ["-F", "/c f"]
    assert words[-1] == remote_login_command("echo 'a b'")


def test_remote_paths_expand_the_remote_home_only_at_the_start() -> None:
    assert remote_path("~") == '"$HOME"'
    assert remote_path("~/ws dir") == "\"$HOME\"/'ws dir'"
    assert remote_path("/srv/$x") == "'/srv/$x'"
    assert remote_path("a~/b") == "'a~/b'"


def test_exports_and_unsets_skip_names_that_are_no_identifiers() -> None:
    assert exports({"A": "x y", "1B": "z", "C": "q\0r"}) == "export A='x y'\nexport C=qr\n"
    assert unsets(frozenset({"KEY", "OTHER", "bad-name"})) == "unset KEY OTHER\n"
    assert unsets(frozenset()) == ""


@pytest.mark.parametrize(
    ("path", "ok"),
    [("/home/a/ws/MT-1", True), ("", False), ("relative", False), ("/a\nb", False), (" ", False)],
)
def test_remote_paths_from_the_host_are_checked(path: str, ok: bool) -> None:
    assert valid_remote_path(path) is ok


def test_the_agent_script_reports_its_group_before_running_the_command() -> None:
    script = agent_script("/tmp", "echo hi", secrets=frozenset({"TRACKER_KEY"}))
    out = subprocess.run(
        ["bash", "--norc", "-c", script],
        capture_output=True,
        text=True,
        timeout=10,
        check=False,
        env={"PATH": "/usr/bin:/bin", "TRACKER_KEY": "s"},
        start_new_session=True,
    )
    assert out.stdout == "hi\n"
    assert out.stderr.startswith(PGID_MARKER)
    assert out.stderr[len(PGID_MARKER) :].strip().isdigit()
    assert script.startswith("unset TRACKER_KEY\n")


def test_the_kill_script_ends_quietly_when_the_group_is_gone() -> None:
    out = subprocess.run(["bash", "-c", kill_group_script(2**22 + 7, 0.2)], timeout=10, check=False)
    assert out.returncode == 0
