from __future__ import annotations

import io
import logging
import random
import re
from pathlib import Path

from symphony import logs
from symphony.logs import (
    REDACTED,
    ROOT_LOGGER,
    Redactor,
    configure_logging,
    get_logger,
    register_secrets,
    render_fields,
)


def test_fields_are_stable_and_quoted_when_needed() -> None:
    fields = {
        "issue_id": "abc",
        "issue_identifier": "MT-1",
        "error": "boom: it broke",
        "n": 3,
        "ok": True,
        "x": None,
    }
    text = render_fields(fields)
    assert text == 'issue_id=abc issue_identifier=MT-1 error="boom: it broke" n=3 ok=true x=null'
    assert render_fields({"msg": 'say "hi"\nnow'}) == 'msg="say \\"hi\\"\\nnow"'


def test_lines_are_key_value_with_context(tmp_path: Path) -> None:
    console = io.StringIO()
    setup = configure_logging(logs_root=tmp_path, console=console)
    log = get_logger("symphony.orchestrator")
    log.info("dispatching issue", issue_id="id-1", issue_identifier="SYM-1", attempt=None)
    line = console.getvalue().strip()
    assert line.startswith("ts=")
    assert " level=info logger=symphony.orchestrator dispatching issue " in line
    assert line.endswith("issue_id=id-1 issue_identifier=SYM-1 attempt=null")
    assert setup.log_file == tmp_path / "symphony.log"
    assert line in setup.log_file.read_text()


def test_registered_secrets_never_reach_any_sink(tmp_path: Path) -> None:
    console = io.StringIO()
    setup = configure_logging(logs_root=tmp_path, console=console)
    secret = "lin_live_0123456789abcdef"
    register_secrets([secret])
    log = get_logger("symphony.trackers.linear")
    log.error("request failed", header=f"Authorization: {secret}", body=f"key={secret}")
    try:
        raise RuntimeError(f"token {secret} rejected")
    except RuntimeError:
        log.exception("unexpected")
    assert setup.log_file is not None
    for text in (console.getvalue(), setup.log_file.read_text()):
        assert secret not in text
        assert REDACTED in text


def test_token_shapes_are_redacted_even_unregistered() -> None:
    console = io.StringIO()
    configure_logging(logs_root=None, console=console)
    log = logging.getLogger("symphony.x")
    log.info("keys lin_api_%s sk-%s Bearer %s", "A" * 40, "b" * 30, "c" * 30)
    out = console.getvalue()
    assert "A" * 40 not in out and "b" * 30 not in out and "c" * 30 not in out
    assert out.count(REDACTED) == 3


class _Broken(io.StringIO):
    def write(self, s: str) -> int:
        raise OSError(28, "No space left on device")


def test_failing_sink_warns_through_the_other_and_never_raises(tmp_path: Path) -> None:
    broken = _Broken()
    setup = configure_logging(logs_root=tmp_path, console=broken)
    log = logging.getLogger("symphony.service")
    log.info("first line")  # must not raise
    log.info("second line")
    assert setup.log_file is not None
    text = setup.log_file.read_text()
    assert "first line" in text and "second line" in text
    assert text.count("log sink failed sink=console") == 1  # warned once, not per line
    assert "No space left on device" in text


def test_sink_recovery_is_reported(tmp_path: Path) -> None:
    class Flaky(io.StringIO):
        fail = True

        def write(self, s: str) -> int:
            if self.fail:
                raise OSError(5, "I/O error")
            return super().write(s)

    flaky = Flaky()
    setup = configure_logging(logs_root=tmp_path, console=flaky)
    log = logging.getLogger("symphony.service")
    log.info("during outage")
    flaky.fail = False
    log.info("after outage")
    assert setup.log_file is not None
    text = setup.log_file.read_text()
    assert "log sink failed sink=console" in text
    assert "log sink recovered sink=console" in text
    assert "after outage" in flaky.getvalue()


def test_unwritable_logs_root_falls_back_to_console(tmp_path: Path) -> None:
    blocker = tmp_path / "file-not-dir"
    blocker.write_text("x")
    console = io.StringIO()
    setup = configure_logging(logs_root=blocker / "logs", console=console)
    assert setup.log_file is None and setup.file_error
    logging.getLogger(ROOT_LOGGER).info("still logging")
    out = console.getvalue()
    assert "log file unavailable" in out and "still logging" in out


def test_every_token_shape_and_case_is_redacted_and_plain_lines_pass_untouched() -> None:
    redactor = Redactor()
    redactor.register(["correct-horse-battery"])
    shapes = {
        f"lin_oauth_{'d' * 20}": REDACTED,
        f"ghp_{'e' * 24}": REDACTED,
        f"gho_{'e' * 24}": REDACTED,
        f"ghs_{'e' * 24}": REDACTED,
        f"BEARER {'f' * 20}": f"BEARER {REDACTED}",
        f"bearer {'f' * 20}==": f"bearer {REDACTED}",
        f"BeArEr {'f' * 20}": f"BeArEr {REDACTED}",
        "the correct-horse-battery staple": f"the {REDACTED} staple",
        "the Correct-Horse-Battery staple": "the Correct-Horse-Battery staple",
    }
    for text, expected in shapes.items():
        assert redactor.redact(text) == expected, text
    plain = '{"method":"item/agentMessage/delta","params":{"delta":"risk-free task-42"}}'
    assert redactor.redact(plain) == plain
    # A secret registered later is caught by the next line.
    redactor.register(["late-secret-value"])
    assert redactor.redact("x late-secret-value y") == f"x {REDACTED} y"


# The token shapes as one would write them, with a leading word boundary; the service's
# pattern puts each boundary after the literal (see logs._TOKEN_SHAPES) and must agree.
_PLAIN_SHAPES = (
    r"\blin_(?:api|oauth)_[A-Za-z0-9]{16,}\b"
    r"|\bsk-[A-Za-z0-9_\-]{16,}\b"
    r"|\bgh[pousr]_[A-Za-z0-9]{20,}\b"
    r"|(?P<scheme>(?i:\bbearer\s+))[A-Za-z0-9._\-~+/]{12,}=*"
)


def _plain_redact(secrets: list[str], text: str) -> str:
    ordered = sorted(secrets, key=len, reverse=True)
    pattern = re.compile("|".join([*(re.escape(s) for s in ordered), _PLAIN_SHAPES]))
    return pattern.sub(lambda m: (m.group("scheme") or "") + logs.REDACTED, text)


def test_the_fast_pattern_redacts_exactly_what_the_plain_word_boundary_shapes_do() -> None:
    # Over lines built from near-misses, real shapes and the characters around a word boundary
    # (ASCII and Unicode word characters, underscores, punctuation).
    secrets = ["Mixed-Case-Secret", "correct-horse-battery", "Bearer-ish-secret"]
    redactor = Redactor()
    redactor.register(secrets)
    pieces = [
        "plain text ",
        '{"delta":"',
        f"lin_api_{'a' * 16}",
        f"lin_oauth_{'a' * 18}",
        f"LIN_API_{'a' * 16}",
        f"sk-{'b' * 16}",
        f"SK-{'b' * 16}",
        f"ghr_{'c' * 20}",
        f"GHP_{'c' * 20}",
        f"Bearer {'d' * 12}",
        f"bEaReR\t{'d' * 12}",
        f"BEARER  {'d' * 14}==",
        "bearer short",
        "mixed-case-secret",
        "Mixed-Case-Secret",
        "correct-horse-battery",
        "Bearer-ish-secret",
        "İstanbul ẞ ﬁ ",
        "x",
        "_",
        "é",
        "9",
        "-",
        " ",
        "\n",
    ]
    rng = random.Random(14)
    for _ in range(4_000):
        line = "".join(rng.choice(pieces) for _ in range(rng.randint(1, 6)))
        assert redactor.redact(line) == _plain_redact(secrets, line), line


def test_every_branch_of_the_pattern_starts_with_a_literal_character() -> None:
    # What keeps redaction cheap (see logs._TOKEN_SHAPES): a branch starting with ``\b``, a
    # group or a class makes the engine try every branch at every position of every line.
    for shape in logs._TOKEN_SHAPES:
        assert shape[0].isalnum(), shape


def test_redacting_joined_lines_is_redacting_each_line() -> None:
    # Transcripts redact a batch of lines at once; a shape ending in whitespace ("Bearer") must
    # not reach into the next line, and every line must come out as if redacted alone.
    redactor = Redactor()
    redactor.register(["Mixed-Case-Secret"])
    pieces = [
        "Bearer",
        "bearer ",
        f"{'d' * 14}",
        f"lin_api_{'a' * 16}",
        "Mixed-Case-Secret",
        "2026-12-04T02:29:38.123Z recv   ",
        " plain",
        "\t",
    ]
    rng = random.Random(21)
    for _ in range(500):
        lines = [
            "".join(rng.choice(pieces) for _ in range(rng.randint(0, 4)))
            for _ in range(rng.randint(1, 6))
        ]
        joined = "\n".join(lines) + "\n"
        expected = "".join(redactor.redact(line) + "\n" for line in lines)
        assert redactor.redact_lines(joined) == expected, lines
