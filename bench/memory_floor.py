"""Where a Symphony process's resident memory goes before it does any work (issue #14).

Issue #14 asks for a 10-agent service within 50 MB of peak RSS. ``service_load.py --scenario 10``
measures the running service; this script explains that figure. In a fresh interpreter it
imports, layer by layer, what the service imports: the standard library the service itself needs,
then each library the architecture picks (PyYAML, orjson, httpx, starlette, uvicorn, structlog,
python-liquid, watchfiles, pydantic), then Symphony's own modules for a Codex-on-Linear service,
then the configuration's validators. It prints the RSS after each layer (``VmRSS``, median over
``--runs`` fresh processes) and what the layer added. Libraries are imported the way the service
imports them (httpx and structlog without the optional extras ``symphony.lean_import`` hides).

A second column, ``alone``, imports each library by itself on top of the interpreter and the
standard-library layer, so a library's cost does not depend on what was imported before it.

Run: ``.venv/bin/python bench/memory_floor.py [--runs 3]``.
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import subprocess
import sys
from dataclasses import dataclass

# The standard library the service itself imports (asyncio loads ssl; the store is SQLite).
STDLIB = (
    "asyncio",
    "ssl",
    "sqlite3",
    "json",
    "logging.handlers",
    "subprocess",
    "hashlib",
    "hmac",
    "argparse",
    "uuid",
    "tempfile",
    "shutil",
    "zoneinfo",
    "difflib",
    "tomllib",
)


@dataclass(frozen=True)
class Layer:
    label: str
    code: str  # run in the child; imports what the layer adds
    library: bool = True  # measured alone too


LAYERS = (
    Layer("interpreter", "", library=False),
    Layer("standard library", "".join(f"import {m}\n" for m in STDLIB), library=False),
    Layer("PyYAML + orjson", "import yaml, orjson\n"),
    Layer("httpx (without its CLI extras)", "import symphony.httpx_lean\n"),
    Layer(
        "starlette",
        "import starlette.applications, starlette.routing, starlette.responses\n",
    ),
    Layer(
        "uvicorn + httptools",
        "import uvicorn.server, uvicorn.config, uvicorn.protocols.http.httptools_impl\n",
    ),
    Layer(
        "structlog (without rich, greenlet)",
        "from symphony import lean_import\n"
        "with lean_import.without('rich', 'greenlet'):\n    import structlog\n",
    ),
    Layer("python-liquid", "import liquid\n"),
    Layer("watchfiles", "import watchfiles\n"),
    Layer(
        "pydantic, one model built",
        "import pydantic\nclass _Probe(pydantic.BaseModel):\n    x: int\n_Probe(x=1)\n",
    ),
    Layer(
        "Symphony's modules (service, Codex, Linear)",
        "import symphony.cli, symphony.service, symphony.observability.transcript\n"
        "import symphony.trackers.linear.adapter\n",
        library=False,
    ),
    Layer(
        "the configuration's validators",
        "from symphony.workflow.config import LoadedConfig, SECTIONS, ServiceConfig\n"
        "for _section in SECTIONS.values():\n    _section.model_rebuild()\n"
        "ServiceConfig.model_rebuild()\nLoadedConfig.model_rebuild()\n",
        library=False,
    ),
)

CHILD_PRELUDE = (
    "import json, sys\n"
    "def _rss():\n"
    "    with open('/proc/self/status') as f:\n"
    "        for line in f:\n"
    "            if line.startswith('VmRSS:'):\n"
    "                return int(line.split()[1]) / 1024\n"
    "    raise RuntimeError('no VmRSS')\n"
    "_out = []\n"
)


def child_code(layers: tuple[Layer, ...]) -> str:
    body = [CHILD_PRELUDE]
    for layer in layers:
        body.append(layer.code)
        body.append(f"_out.append(({layer.label!r}, _rss(), len(sys.modules)))\n")
    body.append("print(json.dumps(_out))\n")
    return "".join(body)


def measure(layers: tuple[Layer, ...]) -> list[tuple[str, float, int]]:
    done = subprocess.run(
        [sys.executable, "-c", child_code(layers)],
        # PYTHONTRACEMALLOC, PYTHONDEVMODE and the like would change what is measured.
        env={k: v for k, v in os.environ.items() if not k.startswith("PYTHON")},
        capture_output=True,
        text=True,
        timeout=120,
    )
    if done.returncode != 0:
        raise RuntimeError(f"the measuring interpreter failed:\n{done.stderr[-2000:]}")
    return [tuple(row) for row in json.loads(done.stdout.splitlines()[-1])]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--runs", type=int, default=3, help="fresh processes per figure")
    args = parser.parse_args()

    cumulative = [measure(LAYERS) for _ in range(args.runs)]
    base = LAYERS[:2]
    alone: dict[str, float] = {}
    for layer in LAYERS:
        if layer.library:
            runs = [measure((*base, layer)) for _ in range(args.runs)]
            alone[layer.label] = statistics.median(rows[-1][1] - rows[-2][1] for rows in runs)

    print(f"Resident memory, layer by layer (median of {args.runs} fresh processes, MB)")
    print(f"  {'layer':46} {'RSS':>7} {'added':>7} {'alone':>7} {'modules':>8}")
    previous = 0.0
    libraries_end = 0.0
    for i, layer in enumerate(LAYERS):
        rss = statistics.median(rows[i][1] for rows in cumulative)
        modules = cumulative[0][i][2]
        added = rss - previous if i else rss
        solo = f"{alone[layer.label]:7.1f}" if layer.label in alone else " " * 7
        print(f"  {layer.label:46} {rss:7.1f} {added:7.1f} {solo} {modules:8d}")
        previous = rss
        if layer.library:
            libraries_end = rss
    print(
        f"\nThe libraries alone, before any Symphony code: {libraries_end:.1f} MB. "
        f"Everything the service imports, validators built: {previous:.1f} MB."
    )
    print(
        "A running service adds its agents, threads and buffers: "
        "bench/service_load.py --scenario 10 --quick --no-baseline."
    )


if __name__ == "__main__":
    main()
