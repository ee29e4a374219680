"""`Authorization: Bearer <token>` with a personal API token (accounts.ApiToken), through django-rest-knox: the
token is found by its public first characters and compared by its SHA-256 in constant time; an expired one is
deleted; a token of an inactive user is refused. Its last use is recorded at most once a minute."""

from drf_spectacular.contrib.knox_auth_token import KnoxTokenScheme
from knox.auth import TokenAuthentication

from .services import api_token_used


class ApiTokenAuthentication(TokenAuthentication):
    def validate_user(self, auth_token):
        user, token = super().validate_user(auth_token)
        api_token_used(token=token)
        return user, token


class ApiTokenScheme(KnoxTokenScheme):
    """The schema's security scheme for the token (drf-spectacular matches the exact class, not knox's parent)."""

    target_class = ApiTokenAuthentication
    name = "bearerToken"
