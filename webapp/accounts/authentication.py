"""REST API authentication by token: ``Authorization: Token <token>`` (or ``Bearer <token>``)."""

from __future__ import annotations

from django.utils.translation import gettext_lazy as _
from rest_framework import authentication, exceptions

from . import services

KEYWORDS = ("token", "bearer")


class ApiTokenAuthentication(authentication.BaseAuthentication):
    keyword = "Token"

    def authenticate(self, request):
        header = authentication.get_authorization_header(request).split()
        if not header or header[0].decode(errors="replace").lower() not in KEYWORDS:
            return None
        if len(header) != 2:
            raise exceptions.AuthenticationFailed(_("Invalid Authorization header: use 'Token <your token>'."))
        try:
            token = header[1].decode()
        except UnicodeDecodeError:
            raise exceptions.AuthenticationFailed(_("Invalid token.")) from None
        found = services.user_for_token(token)
        if found is None:
            raise exceptions.AuthenticationFailed(
                _("Invalid or revoked token. Create a new one on your settings page (/accounts/settings/).")
            )
        return found

    def authenticate_header(self, request) -> str:
        return self.keyword
