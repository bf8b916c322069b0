"""Operations: /healthz for probes, and the Django admin for every model."""

from django.apps import apps
from django.contrib.auth import get_user_model
from django.urls import reverse


def test_healthz_reports_database_and_worker(client, db):
    response = client.get("/healthz")
    body = response.json()
    assert response.status_code == 200
    assert body["database"] == {"status": "ok"}  # anonymous probes get the verdicts only
    assert body["worker"]["status"] in ("ok", "down")
    staff = get_user_model().objects.create_user("ops", password="ops-pass-1", is_staff=True)
    client.force_login(staff)
    body = client.get("/healthz").json()
    assert body["database"]["status"] == "ok" and body["database"]["vendor"]
    assert body["worker"]["status"] in ("ok", "down") and "queued_tasks" in body["worker"]


def test_the_admin_lists_every_winnow_model(client, completed_run):
    admin = get_user_model().objects.create_superuser("root", password="root-pass-1")
    client.force_login(admin)
    for app in ("datasets", "runs"):
        for model in apps.get_app_config(app).get_models():
            url = reverse(f"admin:{app}_{model._meta.model_name}_changelist")
            assert client.get(url).status_code == 200, url
    run_url = reverse("admin:runs_run_change", args=[completed_run.pk])
    assert client.get(run_url).status_code == 200


def test_plotly_js_is_served_from_the_installed_package(client, db):
    response = client.get("/vendor/plotly.min.js")
    body = b"".join(response.streaming_content)
    assert response.status_code == 200 and response["Content-Type"] == "text/javascript"
    assert len(body) > 1_000_000 and b"plotly" in body[:2000].lower()
