"""The OpenAPI schema is served and valid; the documentation page lists every endpoint."""

from drf_spectacular.validation import validate_schema


def test_the_schema_is_valid_openapi_and_documents_errors(client, db):
    response = client.get("/api/schema/", {"format": "json"})
    assert response.status_code == 200
    schema = response.json()
    validate_schema(schema)
    paths = schema["paths"]
    assert {"/api/v1/datasets/", "/api/v1/runs/", "/api/v1/runs/{id}/selection/", "/api/v1/datasets/{id}/uploads/",
            "/api/v1/runs/{id}/artifacts/{name}"} <= set(paths)
    create = paths["/api/v1/runs/"]["post"]["responses"]
    assert create["400"]["content"]["application/json"]["schema"] == {"$ref": "#/components/schemas/Error"}
    assert "tokenAuth" in schema["components"]["securitySchemes"]


def test_the_docs_page_lists_the_endpoints(client, alice):
    client.force_login(alice)
    page = client.get("/api/docs/").content.decode()
    assert "/api/v1/runs/{id}/selection/" in page and "schedule_compute_worker_run" in page
    assert client.get("/api/v1/").status_code == 200  # DRF's browsable root
