"""The API reference page, drawn from FastAPI's own OpenAPI schema on the server.

FastAPI's /docs page loads Swagger UI from a CDN, which the studio must not need; this page shows
the same schema (``/openapi.json``) as plain HTML, so it works with no internet at all.
"""

from __future__ import annotations

from typing import Any

LIMITS = (("exclusiveMinimum", ">"), ("minimum", "≥"), ("exclusiveMaximum", "<"), ("maximum", "≤"))


def _type(schema: dict[str, Any], components: dict[str, Any]) -> str:
    if "$ref" in schema:
        return schema["$ref"].rsplit("/", 1)[-1]
    if "anyOf" in schema:
        return " or ".join(_type(s, components) for s in schema["anyOf"])
    if schema.get("type") == "array":
        return f"list of {_type(schema.get('items', {}), components)}"
    return str(schema.get("type", "any"))


def _rules(schema: dict[str, Any]) -> str:
    options = [schema, *schema.get("anyOf", [])]
    parts = [f"{sign} {s[key]}" for s in options for key, sign in LIMITS if key in s]
    parts += [f"at most {s['maxLength']} characters" for s in options if "maxLength" in s]
    parts += [f"matches {s['pattern']}" for s in options if "pattern" in s]
    if "default" in schema:
        parts.append(f"default {schema['default']!r}")
    return ", ".join(parts)


def _fields(schema: dict[str, Any], components: dict[str, Any]) -> list[dict[str, str]]:
    if "$ref" in schema:
        schema = components.get(schema["$ref"].rsplit("/", 1)[-1], {})
    required = set(schema.get("required", []))
    return [
        {
            "name": name,
            "type": _type(prop, components),
            "required": "yes" if name in required else "",
            "rules": _rules(prop),
            "about": prop.get("description", ""),
        }
        for name, prop in schema.get("properties", {}).items()
    ]


def operations(openapi: dict[str, Any]) -> list[dict[str, Any]]:
    """One entry per route and method: what it does, its parameters, its body's fields and its answers."""
    components = openapi.get("components", {}).get("schemas", {})
    found = []
    for path, methods in openapi.get("paths", {}).items():
        for method, op in methods.items():
            body = op.get("requestBody", {}).get("content", {}).get("application/json", {}).get("schema")
            found.append(
                {
                    "method": method.upper(),
                    "path": path,
                    "summary": op.get("summary", ""),
                    "description": op.get("description", "").replace("``", ""),
                    "parameters": [
                        {
                            "name": p["name"],
                            "type": _type(p.get("schema", {}), components),
                            "required": "yes" if p.get("required") else "",
                            "rules": f"in the {p['in']}; " + _rules(p.get("schema", {})),
                            "about": p.get("description", ""),
                        }
                        for p in op.get("parameters", [])
                    ],
                    "body": _fields(body, components) if body else [],
                    "responses": [f"{code} {r.get('description', '')}" for code, r in op.get("responses", {}).items()],
                }
            )
    return found
