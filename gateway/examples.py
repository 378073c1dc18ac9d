"""Examples for the OpenAPI document: a model that declares none gets one built from its JSON Schema.

Models, error classes and routes declare their own examples; this fills only media that still have none
(documentation only: an example is never validated against behaviour here, the contract tests do that).
"""

from __future__ import annotations

from typing import Any

SAMPLES: dict[str, Any] = {
    "date-time": "2026-11-01T08:00:00+08:00",
    "date": "2026-11-01",
    "uri": "https://xiangzhi.example.gov.cn/",
}


def example_of(schema: dict[str, Any], components: dict[str, Any], depth: int = 0) -> Any:
    """Build an example value from a JSON Schema (its own examples first)."""
    if depth > 8:
        return None
    if "$ref" in schema:
        return example_of(components.get(schema["$ref"].rsplit("/", 1)[-1], {}), components, depth + 1)
    for key in ("example", "const", "default"):
        if key in schema and not (key == "default" and schema[key] is None):
            return schema[key]
    if schema.get("examples"):
        return schema["examples"][0]
    if schema.get("enum"):
        return schema["enum"][0]
    for key in ("anyOf", "oneOf", "allOf"):
        options = [s for s in schema.get(key, []) if s.get("type") != "null"]
        if options:
            return example_of(options[0], components, depth + 1)
    kind = schema.get("type")
    if kind == "object" or "properties" in schema:
        props = schema.get("properties", {})
        return {name: example_of(sub, components, depth + 1) for name, sub in props.items()}
    if kind == "array":
        return [example_of(schema.get("items", {}), components, depth + 1)]
    if kind == "string":
        return SAMPLES.get(schema.get("format") or "", "string")
    return {"integer": 1, "number": 1.0, "boolean": True}.get(kind or "")


def _has_example(media: dict[str, Any], components: dict[str, Any]) -> bool:
    if "example" in media or media.get("examples"):
        return True
    schema = media.get("schema", {})
    if "$ref" in schema:
        schema = components.get(schema["$ref"].rsplit("/", 1)[-1], {})
    return bool(schema.get("examples")) or "example" in schema


def complete_examples(doc: dict[str, Any]) -> None:
    """Give every request and response medium of the document without an example one from its schema."""
    components = doc.get("components", {}).get("schemas", {})
    for item in doc.get("paths", {}).values():
        for op in item.values():
            if not isinstance(op, dict):
                continue
            media = [m for r in op.get("responses", {}).values() for m in r.get("content", {}).values()]
            media += list(op.get("requestBody", {}).get("content", {}).values())
            for medium in media:
                if not _has_example(medium, components):
                    medium["example"] = example_of(medium.get("schema", {}), components)
