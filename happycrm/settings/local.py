"""Development: DEBUG on unless DJANGO_DEBUG says otherwise."""

from .base import *  # noqa: F403
from .base import SECRET_KEY, email_settings, env, refuse_insecure_settings

DEBUG = env.bool("DJANGO_DEBUG", default=True)
# Password-reset mail (and any other) printed on the console unless EMAIL_URL says where it goes.
EMAIL_URL = env("EMAIL_URL", default="consolemail://")
vars().update(email_settings(EMAIL_URL))

refuse_insecure_settings(debug=DEBUG, secret_key=SECRET_KEY)
