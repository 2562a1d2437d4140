"""Typed workflow errors (SPEC §5.5). Each names the file and, where known, line and column."""

from __future__ import annotations

from symphony.errors import SymphonyError


class WorkflowError(SymphonyError):
    code = "workflow_error"


class MissingWorkflowFile(WorkflowError):
    code = "missing_workflow_file"


class WorkflowParseError(WorkflowError):
    code = "workflow_parse_error"


class WorkflowFrontMatterNotAMap(WorkflowError):
    code = "workflow_front_matter_not_a_map"


class TemplateParseError(WorkflowError):
    code = "template_parse_error"


class TemplateRenderError(WorkflowError):
    code = "template_render_error"


class ConfigError(WorkflowError):
    """One or more config values are invalid; ``problems`` lists each ``(key path, message)``."""

    code = "invalid_workflow_config"

    def __init__(self, problems: list[tuple[str, str]], *, source: str = "WORKFLOW.md") -> None:
        self.problems = problems
        self.source = source
        lines = [f"{source}: invalid config:"]
        lines += [f"  - {path}: {msg}" for path, msg in problems]
        super().__init__("\n".join(lines))
