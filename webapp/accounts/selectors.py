"""Reads on accounts, always through the owner: someone else's token does not exist (404)."""

from __future__ import annotations

from django.contrib.auth.models import AnonymousUser, User
from django.core.exceptions import PermissionDenied
from django.db.models import QuerySet
from django.shortcuts import get_object_or_404

from .models import ApiToken


def signed_in(user: User | AnonymousUser) -> User:
    """``request.user`` in a view that requires a signed-in user (``login_required``, DRF's
    ``IsAuthenticated``), typed as the user it is there; anonymous there would be a bug."""
    if not isinstance(user, User):
        raise PermissionDenied("Sign in first.")
    return user


def tokens_of(user) -> QuerySet[ApiToken]:
    return ApiToken.objects.filter(user=user)


def token_of(user, pk: int) -> ApiToken:
    return get_object_or_404(tokens_of(user), pk=pk)
