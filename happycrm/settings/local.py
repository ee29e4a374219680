"""Development: DEBUG on unless DJANGO_DEBUG says otherwise."""

from .base import *  # noqa: F403
from .base import SECRET_KEY, env, refuse_insecure_settings

DEBUG = env.bool("DJANGO_DEBUG", default=True)

refuse_insecure_settings(debug=DEBUG, secret_key=SECRET_KEY)
