"""The OpenAPI schema's finishing touches and the documentation page rendered from it.

``add_error_responses`` (a drf-spectacular post-processing hook) documents the errors every
operation can answer with, in the API's one error shape: 401 without valid credentials, 403 for
a session request without its CSRF token, 404 for an id that is not yours, 400 for bad input.
"""

from __future__ import annotations

from django.contrib.auth.decorators import login_required
from django.shortcuts import render
from drf_spectacular.extensions import OpenApiAuthenticationExtension
from drf_spectacular.generators import SchemaGenerator

ERROR_REF = {"$ref": "#/components/schemas/Error"}
_DESCRIPTIONS = {
    "400": "Bad input: `errors` names each field or config key with its problem",
    "401": "No valid token or session",
    "403": "Not allowed (e.g. a session request without its CSRF token)",
    "404": "No such object among yours",
}


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


@login_required
def docs(request):
    """A readable page of every endpoint, rendered on the server from the schema (works offline)."""
    schema = SchemaGenerator().get_schema(request=None, public=True)
    operations = []
    for path, methods in schema["paths"].items():
        for method, op in methods.items():
            body = op.get("requestBody", {}).get("content", {})
            operations.append({
                "method": method.upper(), "path": path, "summary": op.get("summary", ""),
                "description": op.get("description", ""), "tag": (op.get("tags") or [""])[0],
                "parameters": op.get("parameters", []),
                "body": [(media, _ref_name(spec.get("schema", {}))) for media, spec in body.items()],
                "responses": [(code, r.get("description", ""), _ref_name(_response_schema(r)))
                              for code, r in op.get("responses", {}).items()],
            })
    return render(request, "api/docs.html", {
        "info": schema["info"], "operations": operations,
        "components": sorted(schema.get("components", {}).get("schemas", {}).items()),
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
