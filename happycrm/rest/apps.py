from django.utils.translation import gettext_lazy as _
from drf_spectacular.apps import SpectacularConfig as BaseSpectacularConfig
from drf_spectacular_sidecar.apps import SpectacularSidecarConfig as BaseSidecarConfig


class SpectacularConfig(BaseSpectacularConfig):
    """drf-spectacular (the API's OpenAPI schema), under a name that reads in Turkish too."""

    verbose_name = _("API schema")


class SpectacularSidecarConfig(BaseSidecarConfig):
    """drf-spectacular-sidecar (Swagger UI and ReDoc as static files), likewise."""

    verbose_name = _("API documentation")
