"""`Authorization: Bearer <token>` with a personal API token (accounts.ApiToken), through django-rest-knox: the
token is found by its public first characters and compared by its SHA-256 in constant time; an expired one is
deleted; a token of an inactive user is refused. Its last use is recorded at most once a minute."""

import binascii
from hmac import compare_digest

from django.utils import timezone
from django.utils.translation import gettext as _
from knox.auth import TokenAuthentication
from knox.crypto import hash_token
from knox.settings import CONSTANTS
from rest_framework.exceptions import AuthenticationFailed

from .models import ApiToken
from .services import api_token_used


class ApiTokenAuthentication(TokenAuthentication):
    def authenticate_credentials(self, token: bytes):
        """knox's check in one query (the tokens with this prefix, with their user). knox itself also reads every
        other token of the user on each request, to delete the expired ones: here an expired token is deleted
        when it is presented, and the others when they are."""
        try:
            token = token.decode()
            digest = hash_token(token)
        except (UnicodeDecodeError, TypeError, binascii.Error):
            raise AuthenticationFailed(_("Invalid token.")) from None
        now = timezone.now()
        for auth_token in ApiToken.objects.select_related("user").filter(token_key=token[: CONSTANTS.TOKEN_KEY_LENGTH]):
            if auth_token.expiry is not None and auth_token.expiry < now:
                auth_token.delete()
                continue
            if compare_digest(digest, auth_token.digest):
                return self.validate_user(auth_token)
        raise AuthenticationFailed(_("Invalid token."))

    def validate_user(self, auth_token):
        user, token = super().validate_user(auth_token)
        api_token_used(token=token)
        return user, token
