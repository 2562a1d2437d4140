from __future__ import annotations

from collections.abc import Callable, Iterator
from pathlib import Path

import pytest
from graphql import GraphQLSchema

from symphony.logs import reset_logging
from tests.support.fake_linear import (
    SCHEMA_PATH,
    FakeLinear,
    load_linear_schema,
    schema_available,
)
from tests.support.memory_tracker import (
    MemoryProfile,
    install_memory_tracker,
    uninstall_memory_tracker,
)

SHARED = Path(__file__).resolve().parents[2] / "shared"


@pytest.fixture
def memory_tracker() -> Iterator[MemoryProfile]:
    profile = install_memory_tracker()
    yield profile
    uninstall_memory_tracker()


@pytest.fixture
def write_workflow(tmp_path: Path) -> Callable[..., Path]:
    """Write a WORKFLOW.md (front matter text + prompt body) and return its path."""

    def write(
        front_matter: str | None = None,
        body: str = "Do {{ issue.identifier }}",
        *,
        name: str = "WORKFLOW.md",
    ) -> Path:
        path = tmp_path / name
        text = body if front_matter is None else f"---\n{front_matter.strip()}\n---\n{body}\n"
        path.write_text(text, encoding="utf-8")
        return path

    return write


@pytest.fixture(autouse=True)
def _clean_home(tmp_path_factory: pytest.TempPathFactory, monkeypatch: pytest.MonkeyPatch) -> None:
    """No test may read the operator's login profile or agent credentials: `bash -lc` sources
    ~/.bash_profile (slow, and once hung on a stale pyenv lock), ~/.codex and ~/.claude hold
    real auth, and an Anthropic key or base URL must not send a test's claude elsewhere."""
    home = tmp_path_factory.mktemp("home")
    monkeypatch.setenv("HOME", str(home))
    for name in ("CODEX_HOME", "CLAUDE_CONFIG_DIR", "ANTHROPIC_API_KEY", "ANTHROPIC_BASE_URL"):
        monkeypatch.delenv(name, raising=False)


@pytest.fixture(autouse=True)
def _reset_logging() -> Iterator[None]:
    yield
    reset_logging()


# The schema-checked fake Linear, for every suite that talks to Linear.


@pytest.fixture(scope="session")
def linear_schema() -> GraphQLSchema:
    if not schema_available():
        pytest.skip(
            f"Linear's published schema is not at {SCHEMA_PATH}; the fake Linear validates "
            "every request against it and cannot run without it"
        )
    return load_linear_schema()


@pytest.fixture
def linear(linear_schema: GraphQLSchema) -> Iterator[FakeLinear]:
    fake = FakeLinear(schema=linear_schema).start()
    try:
        yield fake
    finally:
        fake.stop()
    if not fake.rejections_expected:
        # A document real Linear would reject fails the test that sent it.
        details = [f"{r.operation}: {r.errors}" for r in fake.rejected]
        assert not fake.rejected, f"fake Linear rejected requests: {details}"
