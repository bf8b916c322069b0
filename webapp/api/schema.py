"""The OpenAPI schema's finishing touches and the documentation page rendered from it.

``add_error_responses`` (a drf-spectacular post-processing hook) documents the errors every
operation can answer with, in the API's one error shape: 401 without valid credentials, 403 for
a session request without its CSRF token, 404 for an id that is not yours, 400 for bad input.
"""

from __future__ import annotations

import functools
import re
from html import unescape

from django.contrib.auth.decorators import login_required
from django.shortcuts import render
from django.utils.html import escape, strip_tags
from django.utils.safestring import SafeString, mark_safe
from drf_spectacular.extensions import OpenApiAuthenticationExtension
from drf_spectacular.generators import SchemaGenerator
from drf_spectacular.openapi import AutoSchema
from drf_spectacular.plumbing import get_doc

#: The HTTP methods of an OpenAPI path item (its other keys are not operations).
HTTP_METHODS = ("get", "put", "post", "delete", "options", "head", "patch", "trace")

ERROR_REF = {"$ref": "#/components/schemas/Error"}
_DESCRIPTIONS = {
    "400": "Bad input: `errors` names each field or config key with its problem",
    "401": "No valid token or session",
    "403": "Not allowed (e.g. a session request without its CSRF token)",
    "404": "No such object among yours",
}


class WinnowAutoSchema(AutoSchema):
    """An operation is described by its ``extend_schema(description=...)`` or its action's own
    docstring, never by the view class's docstring: that one is written for developers, and
    drf-spectacular would repeat it under every operation of the view."""

    def get_description(self) -> str:  # type: ignore[override]
        action = getattr(self.view, getattr(self.view, "action", None) or self.method.lower(), None)
        return get_doc(action) if action is not None else ""


class ApiTokenScheme(OpenApiAuthenticationExtension):
    target_class = "webapp.accounts.authentication.ApiTokenAuthentication"
    name = "tokenAuth"

    def get_security_definition(self, auto_schema):
        return {"type": "apiKey", "in": "header", "name": "Authorization",
                "description": "`Token <your token>` (from /accounts/settings/ or `manage.py create_api_token`)"}


def add_error_responses(result, generator, request, public):
    schemas = result.setdefault("components", {}).setdefault("schemas", {})
    schemas.setdefault("Error", {
        "type": "object",
        "description": "Every error: a message, and for bad input the problems by field or dotted config key.",
        "properties": {
            "detail": {"type": "string"},
            "errors": {"type": "object", "additionalProperties": {"type": "string"},
                       "description": "field or config key → message, e.g. {\"stopping_condition.n_samples\": \"...\"}"},
        },
        "required": ["detail"],
    })
    if "SelectionRow" in schemas:  # further score columns per row
        schemas["SelectionRow"]["additionalProperties"] = {}
    for path, operations in result.get("paths", {}).items():
        for method, operation in operations.items():
            responses = operation.setdefault("responses", {})
            codes = ["401", "403"]
            if "{" in path:
                codes.append("404")
            if method in ("post", "put", "patch") or any(p.get("in") == "query" for p in operation.get("parameters", [])):
                codes.append("400")
            if any(p.get("in") == "query" for p in operation.get("parameters", [])):
                responses.setdefault("414", {"description": "The URL is longer than the web server accepts"})
            for code in codes:
                responses.setdefault(code, {
                    "content": {"application/json": {"schema": ERROR_REF}}, "description": _DESCRIPTIONS[code],
                })
    return result


@functools.cache
def api_schema() -> dict:
    """The public OpenAPI schema, built once per process (the endpoints do not change while it runs)."""
    return SchemaGenerator().get_schema(request=None, public=True)


def endpoints() -> list[dict]:
    """Every operation of the API: ``{"path", "methods", "summaries"}`` per path, in schema order."""
    found = []
    for path, item in api_schema()["paths"].items():
        operations = [(method, op) for method, op in item.items() if method in HTTP_METHODS]
        found.append({
            "path": path,
            "methods": [method.upper() for method, _ in operations],
            "summaries": {method.upper(): op.get("summary", "") for method, op in operations},
        })
    return found


_CODE = re.compile(r"``(.+?)``|`([^`]+)`")
_STRONG = re.compile(r"\*\*(.+?)\*\*")
_ITEM = re.compile(r"^\s*[*-]\s+")


def _inline(text: str) -> str:
    html = str(escape(" ".join(text.split())))
    html = _CODE.sub(lambda m: f"<code>{m.group(1) or m.group(2)}</code>", html)
    return _STRONG.sub(r"<strong>\1</strong>", html)


def prose(text: str) -> SafeString:
    """Schema text (Markdown, or reST from a docstring) as HTML: paragraphs, bullet lists,
    ``code``/`code` and **bold**; everything else escaped, so no markup shows raw."""
    blocks = []
    for block in re.split(r"\n\s*\n", text or ""):
        lines = [line for line in block.splitlines() if line.strip()]
        if not lines:
            continue
        if all(_ITEM.match(line) for line in lines):
            items = "".join(f"<li>{_inline(_ITEM.sub('', line))}</li>" for line in lines)
            blocks.append(f"<ul>{items}</ul>")
        else:
            blocks.append(f"<p>{_inline(' '.join(lines))}</p>")
    return mark_safe("".join(blocks))  # built from escaped text only


def brief(text: str, limit: int = 140) -> str:
    """Schema text as one plain line (list items joined with "; "), at most ``limit`` characters."""
    html = str(prose(text)).replace("</li><li>", "; ").replace("</p><p>", " ")
    plain = unescape(strip_tags(html))
    return plain if len(plain) <= limit else plain[: limit - 1].rstrip() + "…"


@login_required
def docs(request):
    """A readable page of every endpoint, rendered on the server from the schema (works offline).

    One section per tag, in the order the tags first appear (the schema lists paths, so one
    tag's operations are not all adjacent); descriptions rendered, not shown as raw markup."""
    schema = api_schema()
    operations = []
    for path, methods in schema["paths"].items():
        for method, op in methods.items():
            if method not in HTTP_METHODS:
                continue
            body = op.get("requestBody", {}).get("content", {})
            operations.append({
                "method": method.upper(), "path": path, "summary": op.get("summary", ""),
                "description": prose(op.get("description", "")), "tag": (op.get("tags") or [""])[0],
                "parameters": [{**p, "description": prose(p.get("description", ""))} for p in op.get("parameters", [])],
                "body": [(media, _ref_name(spec.get("schema", {}))) for media, spec in body.items()],
                "responses": [(code, prose(r.get("description", "")), _ref_name(_response_schema(r)))
                              for code, r in op.get("responses", {}).items()],
            })
    order = {tag: i for i, tag in reversed(list(enumerate(op["tag"] for op in operations)))}
    operations.sort(key=lambda op: order[op["tag"]])  # stable: paths keep their order within a tag
    components = [
        (name, {**spec, "description": prose(spec.get("description", "")), "brief": brief(spec.get("description", "")),
                "properties": {field: {**f, "description": prose(f.get("description", ""))}
                               for field, f in spec.get("properties", {}).items()}})
        for name, spec in sorted(schema.get("components", {}).get("schemas", {}).items())
    ]
    return render(request, "api/docs.html", {
        "info": {**schema["info"], "description": prose(schema["info"].get("description", ""))},
        "operations": operations, "components": components,
    })


def _response_schema(response: dict) -> dict:
    """The schema of a response's first media type; {} for a response without content."""
    media: dict = next(iter(response.get("content", {}).values()), {})
    return media.get("schema", {})


def _ref_name(spec: dict) -> str:
    if "$ref" in spec:
        return spec["$ref"].rsplit("/", 1)[-1]
    if spec.get("type") == "array" and "$ref" in spec.get("items", {}):
        return "[" + spec["items"]["$ref"].rsplit("/", 1)[-1] + "]"
    return spec.get("format") or spec.get("type") or ""
