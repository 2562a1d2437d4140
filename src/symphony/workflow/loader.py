"""Reads WORKFLOW.md into front matter + prompt body (SPEC §5.1, §5.2)."""

from __future__ import annotations

import hashlib
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import yaml

from symphony.workflow.errors import (
    MissingWorkflowFile,
    WorkflowFrontMatterNotAMap,
    WorkflowParseError,
)

DEFAULT_WORKFLOW_FILENAME = "WORKFLOW.md"


@dataclass(frozen=True, slots=True)
class WorkflowDefinition:
    path: Path
    config: dict[str, Any]
    prompt_template: str
    # Line in the file where the prompt body starts, so template errors can point at the file.
    prompt_line_offset: int
    content_hash: str


def resolve_workflow_path(explicit: str | Path | None, cwd: Path | None = None) -> Path:
    """Explicit path wins; otherwise ``./WORKFLOW.md`` in the process cwd (SPEC §5.1)."""
    base = cwd if cwd is not None else Path.cwd()
    if explicit is None:
        return (base / DEFAULT_WORKFLOW_FILENAME).absolute()
    path = Path(explicit).expanduser()
    return (path if path.is_absolute() else base / path).absolute()


def read_workflow_bytes(path: Path) -> bytes:
    try:
        return path.read_bytes()
    except FileNotFoundError:
        raise MissingWorkflowFile(
            f"Workflow file not found: {path}. Pass the path to your WORKFLOW.md, "
            "or run symphony from the directory that contains it."
        ) from None
    except IsADirectoryError:
        raise MissingWorkflowFile(
            f"Workflow path is a directory, not a file: {path}. Pass the WORKFLOW.md inside it."
        ) from None
    except OSError as exc:
        raise MissingWorkflowFile(f"Cannot read workflow file {path}: {exc.strerror}") from None


def load_workflow(path: Path) -> WorkflowDefinition:
    raw = read_workflow_bytes(path)
    return parse_workflow(raw, path)


def parse_workflow(raw: bytes, path: Path) -> WorkflowDefinition:
    digest = hashlib.sha256(raw).hexdigest()
    try:
        text = raw.decode("utf-8-sig")
    except UnicodeDecodeError as exc:
        raise WorkflowParseError(
            f"{path}: not valid UTF-8 (byte {exc.start}). Save the file as UTF-8."
        ) from None

    lines = text.splitlines()
    # Front matter exists only when the very first line is exactly `---`; it ends at the next
    # `---` line. Without a closing line everything after the opener is YAML (reference parity).
    if lines and lines[0].rstrip() == "---":
        end = next((i for i in range(1, len(lines)) if lines[i].rstrip() == "---"), None)
        yaml_lines = lines[1:end] if end is not None else lines[1:]
        body_lines = lines[end + 1 :] if end is not None else []
        body_offset = (end + 1) if end is not None else len(lines)
        config = _parse_front_matter("\n".join(yaml_lines), path)
    else:
        config = {}
        body_lines = lines
        body_offset = 0

    # Count the blank lines the trim removes so template error line numbers match the file.
    leading_blank = 0
    for line in body_lines:
        if line.strip():
            break
        leading_blank += 1
    prompt = "\n".join(body_lines).strip()
    return WorkflowDefinition(
        path=path,
        config=config,
        prompt_template=prompt,
        prompt_line_offset=body_offset + leading_blank,
        content_hash=digest,
    )


def _parse_front_matter(source: str, path: Path) -> dict[str, Any]:
    try:
        data = yaml.safe_load(source) if source.strip() else {}
    except yaml.YAMLError as exc:
        raise WorkflowParseError(_describe_yaml_error(exc, path)) from None
    if data is None:
        return {}
    if not isinstance(data, dict):
        raise WorkflowFrontMatterNotAMap(
            f"{path}: the YAML front matter must be a map of keys (tracker:, polling:, ...), "
            f"but it is a {type(data).__name__}."
        )
    return {str(k): v for k, v in data.items()}


def _describe_yaml_error(exc: yaml.YAMLError, path: Path) -> str:
    mark = getattr(exc, "problem_mark", None)
    problem = getattr(exc, "problem", None) or str(exc)
    context = getattr(exc, "context", None)
    if mark is not None:
        # +1 for the `---` opener line, +1 because marks are 0-based.
        where = f"{path}:{mark.line + 2}:{mark.column + 1}"
        detail = f"{context}, {problem}" if context else problem
        return f"{where}: invalid YAML front matter: {detail}"
    return f"{path}: invalid YAML front matter: {problem}"
