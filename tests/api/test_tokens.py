"""API tokens: made on the settings page or by create_api_token, shown once, stored as a hash,
revocable; the API refuses requests without valid credentials."""

import hashlib
from io import StringIO

import pytest
from django.core.management import CommandError, call_command
from rest_framework.test import APIClient

from webapp.accounts.models import ApiToken


def test_create_api_token_prints_a_token_that_works(alice):
    out = StringIO()
    call_command("create_api_token", "alice", stdout=out)
    token = out.getvalue().strip()
    assert token.startswith("wnw_") and len(token) > 30
    record = ApiToken.objects.get(user=alice)
    assert record.digest == hashlib.sha256(token.encode()).hexdigest() and token not in (record.digest, record.prefix)
    client = APIClient(HTTP_AUTHORIZATION=f"Token {token}")
    assert client.get("/api/v1/me/").json() == {"id": alice.pk, "username": "alice"}
    assert APIClient(HTTP_AUTHORIZATION=f"Bearer {token}").get("/api/v1/me/").status_code == 200
    record.refresh_from_db()
    assert record.last_used_at is not None


def test_create_api_token_refuses_an_unknown_user(db):
    with pytest.raises(CommandError, match="No user named 'nobody'"):
        call_command("create_api_token", "nobody")


@pytest.mark.parametrize("header", [None, "Token wnw_wrong", "Token", "Basic YWxpY2U6eA=="])
def test_requests_without_valid_credentials_are_401(db, header):
    client = APIClient(**({"HTTP_AUTHORIZATION": header} if header else {}))
    response = client.get("/api/v1/datasets/")
    assert response.status_code == 401
    assert response["WWW-Authenticate"] == "Token"
    assert response.json()["detail"]


def test_the_settings_page_creates_shows_once_and_revokes_tokens(client, alice):
    client.force_login(alice)
    page = client.get("/accounts/settings/")
    assert page.status_code == 200 and "No tokens yet" in page.content.decode()
    created = client.post("/accounts/settings/tokens/", {"name": "pipeline"})
    html = created.content.decode()
    record = ApiToken.objects.get(user=alice)
    token = html.split('<code id="new-token">')[1].split("</code>")[0]
    assert record.name == "pipeline" and record.digest == hashlib.sha256(token.encode()).hexdigest()
    assert created["Cache-Control"] == "no-store"
    assert token not in client.get("/accounts/settings/").content.decode()  # shown once
    api = APIClient(HTTP_AUTHORIZATION=f"Token {token}")
    assert api.get("/api/v1/me/").status_code == 200

    revoked = client.post(f"/accounts/settings/tokens/{record.pk}/revoke/", follow=True)
    assert "Revoked the token pipeline" in revoked.content.decode()
    assert api.get("/api/v1/me/").status_code == 401


def test_a_user_cannot_revoke_another_users_token(client, alice, bob):
    token = ApiToken.objects.create(user=alice, name="a", digest="0" * 64, prefix="wnw_x")
    client.force_login(bob)
    assert client.post(f"/accounts/settings/tokens/{token.pk}/revoke/").status_code == 404
    assert ApiToken.objects.filter(pk=token.pk).exists()
    assert "wnw_x" not in client.get("/accounts/settings/").content.decode()


def test_the_settings_page_needs_a_login_and_csrf(alice):
    from django.test import Client

    assert Client().get("/accounts/settings/").status_code == 302
    strict = Client(enforce_csrf_checks=True)
    strict.force_login(alice)
    assert strict.post("/accounts/settings/tokens/", {"name": "x"}).status_code == 403
    assert not ApiToken.objects.exists()


def test_the_browser_session_works_and_needs_csrf_for_writes(alice):
    client = APIClient(enforce_csrf_checks=True)
    client.force_login(alice)
    assert client.get("/api/v1/me/").json()["username"] == "alice"
    response = client.post("/api/v1/runs/", {"dataset": 1}, format="json")
    assert response.status_code == 403 and "CSRF" in response.json()["detail"]
