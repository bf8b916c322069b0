"""Writes on accounts: create and revoke API tokens."""

from __future__ import annotations

import hashlib
import logging
import secrets
from datetime import timedelta
from typing import TYPE_CHECKING

from django.db import DatabaseError, transaction
from django.utils import timezone

from ..validation import clean_name
from .models import ApiToken

if TYPE_CHECKING:
    from django.contrib.auth.models import User

log = logging.getLogger(__name__)

#: Every token starts with this, so a leaked one is easy to recognise in logs and code.
TOKEN_PREFIX = "wnw_"
#: last_used_at is written at most this often per token (not on every request).
LAST_USED_RESOLUTION = timedelta(minutes=1)


def digest(token: str) -> str:
    return hashlib.sha256(token.encode()).hexdigest()


def create_token(user: User, name: str = "") -> tuple[ApiToken, str]:
    """A new token for ``user``: the stored record and the token itself (shown once, never stored).

    An empty name is "API token"; a name that is too long or holds control characters is a
    ValidationError keyed ``name``.
    """
    name = clean_name(ApiToken, (name or "").strip() or "API token")
    token = TOKEN_PREFIX + secrets.token_urlsafe(32)
    record = ApiToken.objects.create(user=user, name=name, digest=digest(token), prefix=token[:10])
    return record, token


def revoke_token(token: ApiToken) -> None:
    token.delete()


def user_for_token(token: str) -> tuple[User, ApiToken] | None:
    """The active user holding ``token`` (and the record), or None; notes when it was last used."""
    record = ApiToken.objects.select_related("user").filter(digest=digest(token)).first()
    if record is None or not record.user.is_active:
        return None
    now = timezone.now()
    if record.last_used_at is None or now - record.last_used_at > LAST_USED_RESOLUTION:
        try:  # a note, not the request's purpose: a read must not fail because this write did
            with transaction.atomic():
                ApiToken.objects.filter(pk=record.pk).update(last_used_at=now)
            record.last_used_at = now
        except DatabaseError as exc:
            log.warning("could not note the use of token %s: %s", record.prefix, exc)
    return record.user, record
