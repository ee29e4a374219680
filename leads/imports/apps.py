from django.apps import AppConfig
from django.utils.translation import gettext_lazy as _


class ImportExportConfig(AppConfig):
    """django-import-export (the lead list's Import and Export), under a name that reads in Turkish too."""

    name = "import_export"
    verbose_name = _("Import and export")
