"""The user's settings page: API tokens, created (shown once) and revoked."""

from __future__ import annotations

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.shortcuts import redirect, render
from django.views.decorators.http import require_POST

from . import selectors, services
from .forms import TokenForm


def _page(request, form: TokenForm, new_token: str = ""):
    return render(request, "accounts/settings.html", {
        "form": form,
        "tokens": selectors.tokens_of(request.user),
        "new_token": new_token,
        "api_root": request.build_absolute_uri("/api/v1/"),
    })


@login_required
def settings_page(request):
    return _page(request, TokenForm())


@login_required
@require_POST
def token_create(request):
    form = TokenForm(request.POST)
    if not form.is_valid():
        return _page(request, form)
    _, token = services.create_token(request.user, form.cleaned_data["name"])
    # Rendered, not redirected: the token is never kept in the session or a message cookie.
    response = _page(request, TokenForm(), new_token=token)
    response["Cache-Control"] = "no-store"
    return response


@login_required
@require_POST
def token_revoke(request, pk: int):
    token = selectors.token_of(request.user, pk)
    services.revoke_token(token)
    messages.success(request, f"Revoked the token {token.name} ({token.prefix}…); scripts using it are now refused.")
    return redirect("accounts:settings")
