"""``symphony schema``: a JSON Schema of the WORKFLOW.md front matter, for editors.

Generated from the configuration models (``symphony.workflow.config``) and each tracker kind's
``provider_schema``, so it cannot drift from what the loader accepts. It is stricter in one way
on purpose: the loader ignores unknown keys with a warning, the schema flags them, so an editor
marks a typo where it is written. ``examples/workflow.schema.json`` is a committed copy (a test
fails when it is stale): ``symphony schema --output examples/workflow.schema.json`` renews it.
"""

from __future__ import annotations

import copy
import json
from typing import Any

from symphony.trackers import TRACKERS
from symphony.workflow.config import EXTENSION_SECTIONS, SECTIONS, ServiceConfig

SCHEMA_DIALECT = "https://json-schema.org/draft/2020-12/schema"
SCHEMA_ID = "https://symphony-orchestrator.invalid/workflow.schema.json"
TITLE = "Symphony WORKFLOW.md front matter"


def workflow_schema() -> dict[str, Any]:
    """The front matter's schema (draft 2020-12), with every section's keys and defaults."""
    generated = _json_schema_keywords(ServiceConfig.model_json_schema(mode="validation"))
    defs: dict[str, Any] = generated.get("$defs", {})
    section_defs = {model.__name__ for model in SECTIONS.values()}
    for name, definition in defs.items():
        if "properties" not in definition:
            continue
        definition.setdefault("additionalProperties", False)
        if name in section_defs:
            # Every key is optional in the front matter, and null means "the default".
            definition.pop("required", None)
            definition["type"] = ["object", "null"]
            definition["properties"] = {
                key: _nullable(value) for key, value in definition["properties"].items()
            }
    tracker = defs.get("TrackerConfig")
    if tracker is not None:
        tracker.update(_provider_by_kind())
        tracker["properties"]["kind"]["examples"] = TRACKERS.kinds()
    properties: dict[str, Any] = {
        key: {"$ref": f"#/$defs/{model.__name__}"} for key, model in SECTIONS.items()
    }
    for key, description in EXTENSION_SECTIONS.items():
        properties.setdefault(key, {"description": description})
    return {
        "$schema": SCHEMA_DIALECT,
        "$id": SCHEMA_ID,
        "title": TITLE,
        "description": "The YAML front matter of a Symphony WORKFLOW.md (docs/configuration.md).",
        "type": "object",
        "additionalProperties": False,
        "properties": properties,
        "$defs": defs,
    }


def render_schema() -> str:
    return json.dumps(workflow_schema(), indent=2, sort_keys=True) + "\n"


# A constraint on a type whose validator runs first (StrictishInt) comes out under the Python
# name; JSON Schema spells it differently.
_KEYWORDS = {"gt": "exclusiveMinimum", "ge": "minimum", "lt": "exclusiveMaximum", "le": "maximum"}


def _json_schema_keywords(node: Any) -> Any:
    if isinstance(node, list):
        return [_json_schema_keywords(item) for item in node]
    if not isinstance(node, dict):
        return node
    typed = "type" in node
    return {
        (_KEYWORDS.get(key, key) if typed else key): _json_schema_keywords(value)
        for key, value in node.items()
    }


def _nullable(schema: dict[str, Any]) -> dict[str, Any]:
    """``schema`` or null. A type list rather than ``anyOf``, where possible, so a validator
    reports the inner problem (the unknown key, the bound) instead of "no branch matched"."""
    out = copy.deepcopy(schema)
    kind = out.get("type")
    if isinstance(kind, str) and kind != "null":
        out["type"] = [kind, "null"]
        if "enum" in out and None not in out["enum"]:
            out["enum"] = [*out["enum"], None]
    elif "anyOf" in out:
        if not any(branch.get("type") == "null" for branch in out["anyOf"]):
            out["anyOf"] = [*out["anyOf"], {"type": "null"}]
    elif "$ref" in out:
        out = {"anyOf": [out, {"type": "null"}]}
    return out


def _provider_by_kind() -> dict[str, Any]:
    """``tracker.provider`` checked by the schema of the ``tracker.kind`` chosen."""
    branches = []
    for kind in TRACKERS.kinds():
        profile = TRACKERS.get(kind)
        provider = getattr(profile, "provider_schema", None)
        if provider is None:
            continue
        branches.append(
            {
                "if": {"properties": {"kind": {"const": kind}}, "required": ["kind"]},
                "then": {"properties": {"provider": _nullable(provider)}},
            }
        )
    return {"allOf": branches} if branches else {}
