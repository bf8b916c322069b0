"""Reads on accounts, always through the owner: someone else's token does not exist (404)."""

from __future__ import annotations

from django.db.models import QuerySet
from django.shortcuts import get_object_or_404

from .models import ApiToken


def tokens_of(user) -> QuerySet[ApiToken]:
    return ApiToken.objects.filter(user=user)


def token_of(user, pk: int) -> ApiToken:
    return get_object_or_404(tokens_of(user), pk=pk)
