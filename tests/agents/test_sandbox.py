"""The bwrap sandbox without an agent: its command line, its config, its probe, and what a shell
command inside it can and cannot do (docs/sandbox.md)."""

from __future__ import annotations

import asyncio
import os
import shlex
import shutil
import socket
import stat
import tempfile
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from threading import Thread

import pytest

from symphony.agents import AgentError
from symphony.agents.acp.terminals import Terminals
from symphony.agents.sandbox import SANDBOX_UNAVAILABLE, open_sandbox, probe
from symphony.agents.sandbox.box import program_roots
from symphony.agents.sandbox.bwrap import Bridge, SandboxPlan, bwrap_args, inner_script, wrap
from symphony.agents.sandbox.egress import Egress
from symphony.agents.sandbox.endpoints import claude_endpoints, codex_endpoints
from symphony.process import spawn_login_shell, terminate_group
from symphony.workflow.config import SandboxConfig, build_config
from symphony.workflow.errors import ConfigError
from tests.support.processes import alive, marked
from tests.support.waiting import wait_until

HAS_BWRAP = all(shutil.which(tool) for tool in ("bwrap", "socat"))
needs_bwrap = pytest.mark.skipif(not HAS_BWRAP, reason="bubblewrap and socat are needed")


# --- the command line ----------------------------------------------------------------------


def _pairs(args: list[str], option: str) -> list[tuple[str, str]]:
    return [(args[i + 1], args[i + 2]) for i, a in enumerate(args) if a == option]


def test_bwrap_args_without_network() -> None:
    plan = SandboxPlan(
        workspace=Path("/srv/ws/SYM-1"),
        writable=(Path("/srv/codex-home"),),
        read_only=(Path("/tmp/state"),),
        socket_dir=Path("/tmp/sbx"),
        bridges=(Bridge(3128, Path("/tmp/sbx/proxy.sock")),),
        proxy_port=3128,
    )
    args = bwrap_args(plan)
    assert "--unshare-net" in args and "--unshare-pid" in args and "--die-with-parent" in args
    assert "--new-session" not in args  # the agent stays in the group Symphony kills
    assert _pairs(args, "--ro-bind")[0] == ("/", "/")
    binds = _pairs(args, "--bind")
    assert binds == [("/srv/ws/SYM-1", "/srv/ws/SYM-1"), ("/srv/codex-home", "/srv/codex-home")]
    assert ("/tmp/sbx", "/tmp/sbx") in _pairs(args, "--ro-bind")
    # The private /tmp comes before what is bound into it.
    assert args.index("/tmp") < args.index("--ro-bind-try") < args.index("--bind")
    assert ("/tmp/state", "/tmp/state") in _pairs(args, "--ro-bind-try")
    env = dict(_pairs(args, "--setenv"))
    assert env["HTTPS_PROXY"] == env["http_proxy"] == "http://127.0.0.1:3128"
    assert env["NO_PROXY"] == "localhost,127.0.0.1,::1"
    assert args[-2:] == ["--chdir", "/srv/ws/SYM-1"]


def test_bwrap_args_with_network_share_it_and_set_no_proxy() -> None:
    args = bwrap_args(SandboxPlan(workspace=Path("/ws"), network=True))
    assert "--unshare-net" not in args
    assert not _pairs(args, "--setenv")
    assert ("/run/systemd/resolve", "/run/systemd/resolve") in _pairs(args, "--ro-bind-try")


def test_wrap_is_one_shell_command_running_the_script_inside() -> None:
    plan = SandboxPlan(
        workspace=Path("/w s/ws"),
        bwrap="/opt/bw rap",
        bridges=(Bridge(4000, Path("/tmp/x/port-4000.sock")),),
    )
    script = "export A='b c'\ncodex app-server"
    words = shlex.split(wrap(script, plan))
    assert words[:2] == ["exec", "/opt/bw rap"]
    assert words[words.index("--") + 1 : words.index("--") + 3] == ["bash", "-c"]
    inner = words[-1]
    assert inner == inner_script(script, plan) and inner.endswith(script)
    assert "TCP-LISTEN:4000,bind=127.0.0.1,fork,reuseaddr" in inner
    assert "0100007F:0FA0" in inner  # waits until port 4000 listens
    assert inner_script(script, SandboxPlan(workspace=Path("/w"))) == script


# --- config ----------------------------------------------------------------------------------


def test_sandbox_config_defaults_and_resolution(tmp_path: Path) -> None:
    assert build_config({}, workflow_dir=tmp_path).config.sandbox == SandboxConfig()
    loaded = build_config(
        {
            "sandbox": {
                "kind": "bwrap",
                "network": True,
                "writable": ["cache", "~/x", "$SBX_DIR/y"],
                "allowed_hosts": ["API.example.com", "127.0.0.1:8080", "http://h.io/v1"],
                "writeable": [],
            }
        },
        workflow_dir=tmp_path,
        environ={"SBX_DIR": "/data", "HOME": "/home/u"},
    )
    sandbox = loaded.config.sandbox
    assert sandbox.kind == "bwrap" and sandbox.network is True
    assert sandbox.writable == (tmp_path / "cache", Path.home() / "x", Path("/data/y"))
    assert sandbox.allowed_hosts == ("api.example.com:443", "127.0.0.1:8080", "h.io:80")
    assert any("sandbox.writeable: unknown key" in w and "writable" in w for w in loaded.warnings)


@pytest.mark.parametrize(
    ("section", "key", "said"),
    [
        ({"kind": "docker"}, "sandbox.kind", "none, bwrap"),
        ({"network": "yes"}, "sandbox.network", "boolean"),
        ({"writable": [3]}, "sandbox.writable", "list of directory paths"),
        ({"writable": ["$NOPE_NOT_SET/x"]}, "sandbox.writable", "NOPE_NOT_SET"),
        ({"allowed_hosts": ["a b"]}, "sandbox.allowed_hosts", "host:port"),
        ({"allowed_hosts": ["h:70000"]}, "sandbox.allowed_hosts", "host:port"),
        ({"bwrap": ""}, "sandbox.bwrap", "bwrap program"),
    ],
)
def test_bad_sandbox_values_name_the_key(
    tmp_path: Path, section: dict[str, object], key: str, said: str
) -> None:
    with pytest.raises(ConfigError) as failed:
        build_config({"sandbox": section}, workflow_dir=tmp_path, environ={})
    assert key in str(failed.value) and said in str(failed.value)


def test_default_endpoints_follow_the_backends_configuration(tmp_path: Path) -> None:
    (tmp_path / "config.toml").write_text(
        '[model_providers.local]\nbase_url = "http://127.0.0.1:9999/v1"\n'
    )
    found = codex_endpoints({"OPENAI_BASE_URL": "https://gw.example:8443/v1"}, tmp_path)
    assert {"api.openai.com:443", "gw.example:8443", "127.0.0.1:9999"} <= set(found)
    assert claude_endpoints({}) == ["api.anthropic.com:443"]
    assert "127.0.0.1:7000" in claude_endpoints({"ANTHROPIC_BASE_URL": "http://127.0.0.1:7000"})


# --- the probe -------------------------------------------------------------------------------


def _fake_bwrap(directory: Path, body: str) -> dict[str, str]:
    program = directory / "bwrap"
    program.write_text(f"#!/bin/sh\n{body}\n")
    program.chmod(program.stat().st_mode | stat.S_IXUSR)
    socat = shutil.which("socat")
    if socat:
        (directory / "socat").symlink_to(socat)
    return {"PATH": f"{directory}:/usr/bin:/bin"}


async def test_probe_says_when_bwrap_is_missing_or_cannot_create_namespaces(
    tmp_path: Path,
) -> None:
    missing = await probe(SandboxConfig(kind="bwrap"), env={"PATH": str(tmp_path)})
    assert missing.problem is not None and "'bwrap' was not found on PATH" in missing.problem
    env = _fake_bwrap(tmp_path, "echo 'bwrap: No permissions to create new namespace' >&2; exit 1")
    broken = await probe(SandboxConfig(kind="bwrap", network=True), env=env)
    assert broken.problem is not None
    assert "cannot create its namespaces" in broken.problem
    assert "No permissions to create new namespace" in broken.problem
    with pytest.raises(AgentError) as failed:
        await open_sandbox(SandboxConfig(kind="bwrap", network=True), workspace=tmp_path, env=env)
    assert failed.value.code == SANDBOX_UNAVAILABLE


async def test_probe_is_bounded(tmp_path: Path) -> None:
    env = _fake_bwrap(tmp_path, "exec sleep 30")
    hung = await probe(SandboxConfig(kind="bwrap", network=True), env=env, timeout_s=0.2)
    assert hung.problem is not None and "did not finish within 0.2 s" in hung.problem


@needs_bwrap
async def test_probe_passes_here() -> None:
    assert (await probe(SandboxConfig(kind="bwrap"), env=os.environ)).ok


# --- the egress proxy, in process -----------------------------------------------------------


class _Hello(BaseHTTPRequestHandler):
    def do_GET(self) -> None:
        body = f"hello {self.path}".encode()
        self.send_response(200)
        self.send_header("content-length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    def log_message(self, *args: object) -> None:
        pass


@pytest.fixture
def web() -> Iterator[int]:
    server = ThreadingHTTPServer(("127.0.0.1", 0), _Hello)
    thread = Thread(target=server.serve_forever, args=(0.05,), daemon=True)
    thread.start()
    try:
        yield server.server_address[1]
    finally:
        server.shutdown()
        server.server_close()


async def _ask(socket_path: Path, request: str) -> str:
    reader, writer = await asyncio.open_unix_connection(str(socket_path))
    writer.write(request.encode())
    await writer.drain()
    head = await asyncio.wait_for(reader.readuntil(b"\r\n"), timeout=5)
    text = head.decode()
    if " 200 " in text and not request.startswith("CONNECT"):
        text += (await asyncio.wait_for(reader.read(), timeout=5)).decode()
    writer.close()
    return text


async def test_proxy_forwards_only_allowed_targets(web: int) -> None:
    egress = Egress.create()
    try:
        proxy = await egress.proxy([f"127.0.0.1:{web}"])
        allowed = await _ask(
            proxy, f"GET http://127.0.0.1:{web}/x HTTP/1.1\r\nHost: a\r\nConnection: close\r\n\r\n"
        )
        assert allowed.startswith("HTTP/1.0 200") and allowed.endswith("hello /x")
        tunnel = await _ask(proxy, f"CONNECT 127.0.0.1:{web} HTTP/1.1\r\n\r\n")
        assert tunnel.startswith("HTTP/1.1 200")
        denied = await _ask(proxy, "CONNECT example.com:443 HTTP/1.1\r\n\r\n")
        assert denied.startswith("HTTP/1.1 403")
        other = await _ask(proxy, f"GET http://127.0.0.1:{web + 1}/ HTTP/1.1\r\n\r\n")
        assert other.startswith("HTTP/1.1 403")
        assert list(egress.denied) == ["example.com:443", f"127.0.0.1:{web + 1}"]
    finally:
        await egress.aclose()
    assert not egress.directory.exists()


# --- a shell command in the real sandbox ----------------------------------------------------


async def _run_inside(
    tmp_path: Path, script: str, config: SandboxConfig, endpoints: list[str]
) -> str:
    workspace = tmp_path / "ws"
    workspace.mkdir(exist_ok=True)
    env = {"PATH": os.environ["PATH"], "HOME": str(tmp_path / "home")}
    (tmp_path / "home").mkdir(exist_ok=True)
    box = await open_sandbox(config, workspace=workspace, env=env, endpoints=endpoints)
    try:
        process = await spawn_login_shell(box.wrap(script), cwd=workspace, env=env)
        out, err = await asyncio.wait_for(process.communicate(), timeout=20)
    finally:
        await box.aclose()
    return out.decode() + err.decode()


def _reach(port: int) -> str:
    return f"(exec 3<>/dev/tcp/127.0.0.1/{port}) 2>/dev/null; echo port{port}=$?"


@pytest.fixture
def closed_port() -> Iterator[int]:
    with socket.socket() as listener:
        listener.bind(("127.0.0.1", 0))
        listener.listen()
        yield listener.getsockname()[1]


@needs_bwrap
async def test_inside_only_the_workspace_is_written_and_only_allowed_ports_reached(
    tmp_path: Path, web: int, closed_port: int
) -> None:
    extra = tmp_path / "extra"
    connect = "exec 3<>/dev/tcp/127.0.0.1/3128; printf 'CONNECT {0} HTTP/1.1\\r\\n\\r\\n' >&3; "
    connect += "head -c 12 <&3; echo; exec 3<&-"
    script = "\n".join(
        [
            "echo ok > in.txt; echo ws=$?",
            f"echo x > {tmp_path}/home/out.txt 2>/dev/null; echo home=$?",
            f"echo x > {extra}/e.txt; echo extra=$?",
            "echo x > /etc/sbx-test 2>/dev/null; echo etc=$?",
            "echo x > /tmp/t && echo tmp=$?",
            _reach(web),
            _reach(closed_port),
            connect.format(f"127.0.0.1:{web}"),
            connect.format("example.com:443"),
            "ps -e -o pid= | wc -l | tr -d ' ' | sed 's/^/processes=/'",
        ]
    )
    config = SandboxConfig(kind="bwrap", writable=(extra,))
    output = await _run_inside(tmp_path, script, config, [f"127.0.0.1:{web}"])
    for expected in ("ws=0", "home=1", "extra=0", "etc=1", "tmp=0", f"port{web}=0"):
        assert expected in output, output
    assert f"port{closed_port}=1" in output, output
    assert "HTTP/1.1 200" in output and "HTTP/1.1 403" in output, output
    assert (tmp_path / "ws" / "in.txt").exists() and (extra / "e.txt").exists()
    assert not (tmp_path / "home" / "out.txt").exists() and not Path("/tmp/t").exists()
    # Its own pid namespace: only bwrap, the shells, the bridges and ps.
    count = int(output.split("processes=")[1].split()[0])
    assert count < 10, output


@needs_bwrap
async def test_with_network_on_any_port_is_reached(tmp_path: Path, closed_port: int) -> None:
    config = SandboxConfig(kind="bwrap", network=True)
    output = await _run_inside(tmp_path, _reach(closed_port), config, [])
    assert f"port{closed_port}=0" in output, output


@needs_bwrap
async def test_stopping_the_group_leaves_no_process_of_the_sandbox(tmp_path: Path) -> None:
    """A command in a session of its own (out of the group's reach) dies with the sandbox."""
    workspace = tmp_path / "ws"
    workspace.mkdir()
    marker = f"sbx-left-{os.getpid()}"
    box = await open_sandbox(SandboxConfig(kind="bwrap"), workspace=workspace, env=os.environ)
    try:
        script = f"setsid bash -c 'exec -a {marker} sleep 300' & exec -a {marker}-main sleep 300"
        process = await spawn_login_shell(box.wrap(script), cwd=workspace, env=os.environ)
        await wait_until(lambda: marked(marker), "the setsid command runs", timeout=10)
        await terminate_group(process, grace_s=2.0)
    finally:
        await box.aclose()
    await wait_until(lambda: not marked(marker), "no process left", timeout=5)
    assert not alive(process.pid)


@needs_bwrap
async def test_acp_terminals_run_in_the_sandbox_too(tmp_path: Path, closed_port: int) -> None:
    workspace = tmp_path / "ws"
    (workspace / "sub").mkdir(parents=True)
    env = {"PATH": os.environ["PATH"], "HOME": str(tmp_path), "TRACKER_KEY": "secret"}
    box = await open_sandbox(SandboxConfig(kind="bwrap"), workspace=workspace, env=env)
    terminals = Terminals(
        workspace,
        base_env=env,
        strip_env=frozenset({"TRACKER_KEY"}),
        extra_env={},
        default_limit=10_000,
        wrap=box.wrap,
    )
    try:
        line = await terminals.create(
            f"pwd; echo x > here.txt; echo x > {tmp_path}/out.txt; {_reach(closed_port)}; "
            'echo "key=${TRACKER_KEY:-absent}"',
            None,
            [],
            str(workspace / "sub"),
            None,
        )
        argv = await terminals.create("touch", ["/etc/sbx-argv"], [], None, None)
        shown = (await terminals.wait(line, 10)).text()
        failed = await terminals.wait(argv, 10)
    finally:
        await terminals.close_all()
        await box.aclose()
    assert shown.startswith(f"{workspace / 'sub'}\n"), shown
    assert (workspace / "sub" / "here.txt").exists() and not (tmp_path / "out.txt").exists()
    assert f"port{closed_port}=1" in shown and "key=absent" in shown
    assert failed.exit_status == (1, None) and "Read-only file system" in failed.text()


@needs_bwrap
async def test_open_sandbox_bridges_loopback_endpoints_and_proxies_the_rest(
    tmp_path: Path,
) -> None:
    workspace = tmp_path / "ws"
    workspace.mkdir()
    state = tmp_path / "state" / "new"
    config = SandboxConfig(
        kind="bwrap", writable=(tmp_path / "cache",), allowed_hosts=("localhost:7001",)
    )
    box = await open_sandbox(
        config,
        workspace=workspace,
        env={"PATH": os.environ["PATH"], "HOME": str(tmp_path)},
        state=[state, workspace],
        read_only=[tmp_path / "files"],
        endpoints=["127.0.0.1:7000", "api.example.com:443", "127.0.0.1:7000", "127.0.0.1:3128"],
    )
    try:
        plan = box.plan
        assert plan.socket_dir is not None and plan.socket_dir.is_dir()
        assert [b.port for b in plan.bridges] == [7000, 7001, 3128]
        assert plan.bridges[-1].socket.name == "proxy.sock" and plan.proxy_port == 3128
        assert plan.writable == (state, tmp_path / "cache") and state.is_dir()
        assert plan.read_only == (tmp_path / "files", tmp_path)
    finally:
        await box.aclose()
    assert not plan.socket_dir.exists()
    off = await open_sandbox(
        SandboxConfig(kind="bwrap", network=True), workspace=workspace, env=os.environ
    )
    assert off.egress is None and not off.plan.bridges and off.plan.network


@needs_bwrap
async def test_a_socket_path_too_long_is_a_sandbox_error(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    deep = tmp_path / ("d" * 120)
    deep.mkdir()
    monkeypatch.setenv("TMPDIR", str(deep))
    monkeypatch.setattr(tempfile, "tempdir", None)  # re-read TMPDIR
    with pytest.raises(AgentError) as failed:
        await open_sandbox(SandboxConfig(kind="bwrap"), workspace=tmp_path, env=os.environ)
    assert failed.value.code == SANDBOX_UNAVAILABLE and "egress sockets" in failed.value.message
    assert not any(deep.iterdir())  # the directory went again


def test_an_agent_installed_under_tmp_is_bound_back_with_its_package(tmp_path: Path) -> None:
    """The private /tmp hides a CLI installed below it (a checkout under /tmp, say): its npm
    prefix is bound back read-only, for the link and the package it points into."""
    prefix = tmp_path / "tools" / "claude"
    package = prefix / "node_modules" / "pkg"
    package.mkdir(parents=True)
    cli = package / "cli.js"
    cli.write_text("#!/bin/sh\n")
    cli.chmod(0o755)
    (prefix / "node_modules" / ".bin").mkdir()
    link = prefix / "node_modules" / ".bin" / "claude"
    link.symlink_to(cli)
    env = {"PATH": "/usr/bin:/bin", "AGENT": str(link)}
    assert program_roots(f"{link} --flag", env) == [prefix.resolve()]
    assert program_roots("FOO=1 exec ${AGENT:-claude} -p", env) == [prefix.resolve()]
    native = tmp_path / "bin" / "agent"
    native.parent.mkdir()
    native.write_text("#!/bin/sh\n")
    native.chmod(0o755)
    assert program_roots(str(native), env) == [native.parent.resolve()]
    # Visible anyway (not below /tmp or /run), unknown, or not a simple command: nothing.
    assert program_roots("sh -c true", env) == []
    assert program_roots("no-such-agent", env) == []
    assert program_roots("'unbalanced", env) == []


async def test_a_loopback_endpoint_below_1024_is_refused_at_once(tmp_path: Path) -> None:
    workspace = tmp_path / "ws"
    workspace.mkdir()
    config = SandboxConfig(kind="bwrap")
    if (await probe(config, env=dict(os.environ))).problem is not None:
        pytest.skip("bwrap cannot run here")
    with pytest.raises(AgentError) as caught:
        await open_sandbox(
            config, workspace=workspace, env=dict(os.environ), endpoints=["127.0.0.1:80"]
        )
    assert caught.value.code == SANDBOX_UNAVAILABLE
    assert "127.0.0.1:80 cannot be bridged" in caught.value.message
