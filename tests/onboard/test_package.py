"""The distribution: a wheel built from this tree, installed into a fresh virtual environment
outside the checkout, runs `symphony --version`, `init`, `validate` and `doctor` on its own."""

from __future__ import annotations

import json
import os
import shutil
import site
import subprocess
import sys
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[2]
CODEX_BIN = REPO / ".tools" / "codex" / "node_modules" / ".bin"
STEP_TIMEOUT_S = 120


def run(
    argv: list[str], *, cwd: Path, env: dict[str, str], check: bool = True
) -> subprocess.CompletedProcess[str]:
    done = subprocess.run(
        argv, cwd=cwd, env=env, capture_output=True, text=True, timeout=STEP_TIMEOUT_S
    )
    if check and done.returncode != 0:
        raise AssertionError(f"{argv} failed ({done.returncode}):\n{done.stdout}\n{done.stderr}")
    return done


@pytest.fixture(scope="module")
def installed(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The ``bin`` directory of a venv holding only the wheel (and, through a .pth file, the
    dependencies this test run already has, so nothing is downloaded)."""
    base = tmp_path_factory.mktemp("package")
    source = base / "source"
    # A copy, so the build leaves nothing in the checkout; links are copied as what they point at
    # (the examples inside the package are a link to the top-level examples directory).
    source.mkdir()
    for name in ("pyproject.toml", "README.md"):
        shutil.copy2(REPO / name, source / name)
    shutil.copytree(
        REPO / "src",
        source / "src",
        ignore=shutil.ignore_patterns("__pycache__", "*.egg-info", ".symphony"),
    )
    env = {k: v for k, v in os.environ.items() if k not in ("PYTHONPATH", "PIP_REQUIRE_VIRTUALENV")}
    pip = [sys.executable, "-m", "pip", "--disable-pip-version-check"]
    wheels = base / "dist"
    run(
        [*pip, "wheel", "--no-deps", "--no-build-isolation", "-q", "-w", str(wheels), str(source)],
        cwd=base,
        env=env,
    )
    [wheel] = wheels.glob("symphony_orchestrator-*.whl")
    venv = base / "venv"
    run([sys.executable, "-m", "venv", "--without-pip", str(venv)], cwd=base, env=env)
    python = venv / "bin" / "python"
    run(
        [*pip, "--python", str(python), "install", "-q", "--no-deps", str(wheel)], cwd=base, env=env
    )
    purelib = run(
        [str(python), "-c", "import sysconfig; print(sysconfig.get_paths()['purelib'])"],
        cwd=base,
        env=env,
    ).stdout.strip()
    # The dependencies come after the wheel on sys.path, so the wheel's own metadata wins.
    (Path(purelib) / "zz-dependencies.pth").write_text(
        "\n".join(site.getsitepackages()) + "\n", encoding="utf-8"
    )
    return venv / "bin"


@pytest.fixture
def user_env(tmp_path: Path) -> dict[str, str]:
    """A user's environment: codex on the login shell's PATH, no credentials, no checkout."""
    home = tmp_path / "home"
    home.mkdir()
    (home / ".bash_profile").write_text(f'export PATH="{CODEX_BIN}:$PATH"\n')
    env = {k: v for k, v in os.environ.items() if not k.startswith(("PYTHON", "SYMPHONY_"))}
    for name in ("OPENAI_API_KEY", "CODEX_HOME", "LINEAR_API_KEY", "GITHUB_TOKEN"):
        env.pop(name, None)
    return {**env, "HOME": str(home)}


def test_the_wheel_runs_outside_the_checkout(
    installed: Path, tmp_path: Path, user_env: dict[str, str]
) -> None:
    symphony = str(installed / "symphony")
    repo = tmp_path / "project"
    repo.mkdir()
    run(["git", "init", "-q"], cwd=repo, env=user_env)

    version = run([symphony, "--version"], cwd=repo, env=user_env).stdout
    assert version.startswith("symphony ")

    run([symphony, "init", "--yes", "--tracker", "local"], cwd=repo, env=user_env)
    assert (repo / "WORKFLOW.md").is_file()
    validated = run([symphony, "validate"], cwd=repo, env=user_env)
    assert "WORKFLOW.md is valid" in validated.stdout

    doctor = run([symphony, "doctor", "--json"], cwd=repo, env=user_env, check=False)
    assert doctor.returncode == 1, doctor.stderr
    assert "Traceback" not in doctor.stderr
    report = json.loads(doctor.stdout)
    checks = {c["name"]: c for c in report["checks"]}
    assert checks["workflow"]["status"] == "ok"
    assert checks["codex credentials"]["status"] == "fail"
    assert "codex login" in checks["codex credentials"]["fix"]


def test_the_wheel_holds_the_dashboard_and_the_examples(
    installed: Path, user_env: dict[str, str]
) -> None:
    python = str(installed / "python")
    script = (
        "import importlib.resources as r, symphony;"
        "root = r.files('symphony');"
        "print(root / 'observability' / 'web' / 'index.html');"
        "print(sorted(p.name for p in (root / 'examples').iterdir()))"
    )
    done = run([python, "-c", script], cwd=installed, env=user_env)
    index, examples = done.stdout.splitlines()
    assert Path(index).is_file() and str(REPO) not in index
    assert "local" in examples and "workflow.schema.json" in examples


def test_setup_installs_the_agent_versions_symphony_is_tested_with() -> None:
    from symphony.agents.claude_code.launch import TESTED_VERSION as CLAUDE_TESTED
    from symphony.agents.codex.launch import TESTED_VERSION as CODEX_TESTED

    setup = (REPO / "scripts" / "setup").read_text()
    assert f'CODEX_VERSION="{CODEX_TESTED}"' in setup
    assert f'CLAUDE_CODE_VERSION="{CLAUDE_TESTED}"' in setup
