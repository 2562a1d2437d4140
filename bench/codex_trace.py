"""Record what the real ``codex app-server`` 0.169 (``.tools/codex``) sends during a working turn.

The benchmark's fake agent (``fake_app_server.c``) must stream what codex really sends, in the real
shapes and proportions. This script is where those come from: it runs the pinned binary against a
fake Responses API on 127.0.0.1 that answers like a reasoning model doing a small task (reasoning
summaries, a commentary message, two shell commands with multi-line output, a final message, all
streamed in small deltas with usage and rate-limit headers), drives one ``turn/start`` over JSONL,
and prints every line codex wrote with its method, size and the count of each method.

With ``--compare-fake`` it then drives ``bench/fake_app_server.c`` (compiled on the fly) through
the same requests and compares, for every kind of message (method, and item type for
``item/*``), the set of JSON key paths the fake sends with those the real server sent: a missing
or extra key is printed, so the fake can be kept in the real shapes when codex changes.

Run: ``.venv/bin/python bench/codex_trace.py [--out trace.jsonl] [--compare-fake]`` (needs
``scripts/setup``; ``--compare-fake`` needs a C compiler).
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import subprocess
import sys
import tempfile
import time
from collections import Counter
from collections.abc import AsyncIterator, Callable
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from tests.support.fake_model import (
    FAKE_API_KEY_ENV,
    FakeModelServer,
    RateLimits,
    Reply,
    Usage,
    write_codex_home,
)

ROOT = Path(__file__).resolve().parents[1]
CODEX = ROOT / ".tools" / "codex" / "node_modules" / ".bin" / "codex"
FAKE_SOURCE = Path(__file__).with_name("fake_app_server.c")
VARIANTS = ("commandActions[].", "result.sandbox.")

REASONING = [
    "**Inspecting the workspace**\n\nI need to see which files exist before changing anything.",
    "**Reading the README**\n\nThe README should say how the project is built and tested.",
    "**Summarising**\n\nBoth commands succeeded; I can report what I found.",
]
COMMENTARY = "I'll list the workspace first, then read the README to see how it is laid out."
FINAL = (
    "The workspace holds a README and a small shell script. The README describes the build "
    "(`make`) and the tests (`make test`); nothing needed changing for this issue, so I left the "
    "files as they were and summarised the layout here."
)
COMMANDS = [
    "ls -la && printf 'line %s\\n' 1 2 3 4 5 6 7 8",
    'cat README.md && for i in 1 2 3 4 5; do echo "test $i passed"; sleep 0.2; done',
]


def _chunks(text: str, size: int) -> list[str]:
    return [text[i : i + size] for i in range(0, len(text), size)]


class ReasoningModel(FakeModelServer):
    """Each request gets reasoning + (commentary) + one exec_command, the last one a message."""

    def __init__(self) -> None:
        super().__init__(default=Reply(rate_limits=RateLimits(), usage=Usage(2400, 180, 1900, 64)))
        self._step = 0

    async def _stream(self, reply: Reply) -> AsyncIterator[bytes]:
        step = self._step
        self._step += 1
        serial = 1000 * (step + 1)
        yield _sse({"type": "response.created", "response": {"id": f"resp_{serial}"}})
        index = 0
        for event in _reasoning(REASONING[min(step, 2)], index, serial):
            yield _sse(event)
        index += 1
        if step == 0:
            for event in _message(COMMENTARY, index, serial + 1, phase="commentary"):
                yield _sse(event)
            index += 1
        if step < len(COMMANDS):
            call = {
                "type": "function_call",
                "id": f"fc_{serial}",
                "call_id": f"call_{serial}",
                "name": "exec_command",
                "arguments": json.dumps({"cmd": COMMANDS[step]}),
            }
            yield _sse({"type": "response.output_item.added", "output_index": index, "item": call})
            yield _sse({"type": "response.output_item.done", "output_index": index, "item": call})
        else:
            for event in _message(FINAL, index, serial + 2, phase="final_answer"):
                yield _sse(event)
        usage = reply.usage.to_json() if reply.usage else None
        yield _sse(
            {"type": "response.completed", "response": {"id": f"resp_{serial}", "usage": usage}}
        )


def _sse(event: dict[str, Any]) -> bytes:
    return f"event: {event['type']}\ndata: {json.dumps(event)}\n\n".encode()


def _reasoning(text: str, index: int, serial: int) -> list[dict[str, Any]]:
    item_id = f"rs_{serial}"
    added = {"type": "reasoning", "id": item_id, "summary": []}
    events: list[dict[str, Any]] = [
        {"type": "response.output_item.added", "output_index": index, "item": added},
        {
            "type": "response.reasoning_summary_part.added",
            "item_id": item_id,
            "output_index": index,
            "summary_index": 0,
            "part": {"type": "summary_text", "text": ""},
        },
    ]
    for piece in _chunks(text, 6):
        events.append(
            {
                "type": "response.reasoning_summary_text.delta",
                "item_id": item_id,
                "output_index": index,
                "summary_index": 0,
                "delta": piece,
            }
        )
    events.append(
        {
            "type": "response.reasoning_summary_text.done",
            "item_id": item_id,
            "output_index": index,
            "summary_index": 0,
            "text": text,
        }
    )
    done = {
        "type": "reasoning",
        "id": item_id,
        "summary": [{"type": "summary_text", "text": text}],
        "encrypted_content": "gAAAAA" + "x" * 200,
    }
    events.append({"type": "response.output_item.done", "output_index": index, "item": done})
    return events


def _message(text: str, index: int, serial: int, *, phase: str) -> list[dict[str, Any]]:
    item_id = f"msg_{serial}"
    done = {
        "type": "message",
        "role": "assistant",
        "id": item_id,
        "phase": phase,
        "content": [{"type": "output_text", "text": text, "annotations": []}],
    }
    events: list[dict[str, Any]] = [
        {
            "type": "response.output_item.added",
            "output_index": index,
            "item": {**done, "content": []},
        }
    ]
    for piece in _chunks(text, 5):
        events.append(
            {
                "type": "response.output_text.delta",
                "item_id": item_id,
                "output_index": index,
                "content_index": 0,
                "delta": piece,
            }
        )
    events.append({"type": "response.output_item.done", "output_index": index, "item": done})
    return events


def drive(argv: list[str], env: dict[str, str], workspace: Path) -> list[dict[str, Any]]:
    """Symphony's requests (initialize, initialized, thread/start, thread/name/set, turn/start)
    to an app-server; every line it wrote until ``turn/completed``, with its size."""
    proc = subprocess.Popen(
        argv,
        cwd=workspace,
        env=env,
        stdin=subprocess.PIPE,
        stdout=subprocess.PIPE,
        stderr=subprocess.DEVNULL,
        text=True,
        start_new_session=True,
    )
    assert proc.stdin is not None and proc.stdout is not None
    stdin, stdout = proc.stdin, proc.stdout
    lines: list[dict[str, Any]] = []

    def send(message: dict[str, Any]) -> None:
        stdin.write(json.dumps(message) + "\n")
        stdin.flush()

    def until(predicate: Callable[[dict[str, Any]], bool]) -> dict[str, Any]:
        while True:
            raw = stdout.readline()
            if not raw:
                raise SystemExit(f"{argv[0]} exited before answering")
            message: dict[str, Any] = json.loads(raw)
            lines.append({"t": time.monotonic(), "bytes": len(raw), "message": message})
            if predicate(message):
                return message

    client = {"name": "symphony-bench", "title": "Symphony bench", "version": "0.1.0"}
    capabilities = {"experimentalApi": True}
    send(
        {
            "id": 1,
            "method": "initialize",
            "params": {"clientInfo": client, "capabilities": capabilities},
        }
    )
    until(lambda m: m.get("id") == 1)
    send({"method": "initialized", "params": {}})
    thread_params = {
        "approvalPolicy": "never",
        "sandbox": "danger-full-access",
        "cwd": str(workspace),
    }
    send({"id": 2, "method": "thread/start", "params": thread_params})
    thread_id = until(lambda m: m.get("id") == 2)["result"]["thread"]["id"]
    name = {"threadId": thread_id, "name": "BENCH-1: trace"}
    send({"id": 3, "method": "thread/name/set", "params": name})
    until(lambda m: m.get("id") == 3)
    turn = {
        "threadId": thread_id,
        "input": [{"type": "text", "text": "Look around the workspace and report."}],
        "cwd": str(workspace),
        "approvalPolicy": "never",
        "sandboxPolicy": {"type": "dangerFullAccess"},
    }
    send({"id": 4, "method": "turn/start", "params": turn})
    until(lambda m: m.get("method") == "turn/completed")
    stdin.close()
    proc.wait(timeout=10)
    return lines


def kind(message: dict[str, Any]) -> str:
    method = message.get("method")
    if method is None:
        return f"response to {message.get('id')}"
    if method in ("item/started", "item/completed"):
        return f"{method} ({message['params']['item']['type']})"
    return str(method)


def key_paths(value: Any, prefix: str = "") -> set[str]:
    """Every key path in a JSON value (list elements as ``[]``)."""
    paths: set[str] = set()
    if isinstance(value, dict):
        for key, child in value.items():
            path = f"{prefix}.{key}" if prefix else key
            paths.add(path)
            paths |= key_paths(child, path)
    elif isinstance(value, list):
        for child in value:
            paths |= key_paths(child, f"{prefix}[]")
    return paths


def shapes(lines: list[dict[str, Any]]) -> dict[str, set[str]]:
    out: dict[str, set[str]] = {}
    for line in lines:
        message = line["message"]
        # Union variants: command actions differ by action type (read, search, listFiles,
        # unknown) and the sandbox by policy (the trace runs with full access, Symphony asks for
        # workspace-write); their members are what the variant says, not what the fake chose.
        paths = {p for p in key_paths(message) if not any(v in p for v in VARIANTS)}
        out.setdefault(kind(message), set()).update(paths)
    return out


def compare_fake(real: list[dict[str, Any]], root: Path) -> int:
    """Differences in key paths between the real server's messages and the C fake's."""
    compiler = shutil.which("cc") or shutil.which("gcc")
    if compiler is None:
        raise SystemExit("--compare-fake needs a C compiler (cc)")
    binary = root / "fake_app_server"
    subprocess.run([compiler, "-O2", "-o", str(binary), str(FAKE_SOURCE)], check=True)
    workspace = root / "fake-ws"
    workspace.mkdir()
    env = {"PATH": os.environ.get("PATH", "/usr/bin:/bin"), "HOME": str(root)}
    fake = drive([str(binary), "--rate", "400", "--turn-seconds", "1"], env, workspace)
    real_shapes, fake_shapes = shapes(real), shapes(fake)
    problems = 0
    for name in sorted(real_shapes.keys() | fake_shapes.keys()):
        if name in ("warning", "remoteControl/status/changed"):
            continue  # the fake model's unknown slug, and a startup notice, not turn traffic
        if name not in fake_shapes or name not in real_shapes:
            side = "only the real server" if name in real_shapes else "only the fake"
            print(f"  {name}: sent by {side}")
            problems += 1
            continue
        missing = real_shapes[name] - fake_shapes[name]
        extra = fake_shapes[name] - real_shapes[name]
        if missing or extra:
            problems += 1
            print(f"  {name}: fake lacks {sorted(missing)}, adds {sorted(extra)}")
    counts = Counter(kind(line["message"]) for line in fake)
    print("fake, per turn of 1 s at 400 lines/s:")
    for method, n in counts.most_common():
        print(f"{n:4d}  {method}")
    return problems


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--out", type=Path, default=None, help="also keep the JSONL trace here")
    parser.add_argument(
        "--compare-fake", action="store_true", help="check the C fake's shapes against the trace"
    )
    args = parser.parse_args()
    if not CODEX.exists():
        raise SystemExit(f"{CODEX} is missing: run scripts/setup")
    with tempfile.TemporaryDirectory(prefix="codex-trace-") as tmp, ReasoningModel() as model:
        root = Path(tmp)
        workspace = root / "ws"
        workspace.mkdir()
        (workspace / "README.md").write_text("# Demo\n\nBuild: make\nTest: make test\n")
        home = write_codex_home(
            root / "codex-home", base_url=model.base_url, sandbox_mode="danger-full-access"
        )
        env = {
            "PATH": os.environ.get("PATH", "/usr/bin:/bin"),
            "HOME": str(root),
            "CODEX_HOME": str(home),
            FAKE_API_KEY_ENV: "fake-key",
        }
        lines = drive([str(CODEX), "app-server"], env, workspace)
        if args.out is not None:
            with args.out.open("w", encoding="utf-8") as fh:
                for line in lines:
                    fh.write(json.dumps(line["message"]) + "\n")
        for line in lines:
            print(f"{line['bytes']:6d}  {json.dumps(line['message'])[:160]}")
        print()
        for method, n in Counter(kind(line["message"]) for line in lines).most_common():
            print(f"{n:4d}  {method}")
        print(f"{len(lines)} lines, {sum(line['bytes'] for line in lines)} bytes")
        if args.compare_fake:
            print("\nshapes, the C fake against the real server:")
            problems = compare_fake(lines, root)
            print("same shapes" if problems == 0 else f"{problems} kinds of message differ")
            if problems:
                sys.exit(1)


if __name__ == "__main__":
    main()
