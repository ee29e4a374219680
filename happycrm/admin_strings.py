"""Django's and django-axes' own strings that our Turkish catalog rephrases or translates (locale/tr), listed so
makemessages keeps them.

Django's Turkish puts the lowercase model name first ("%s değiştir" → "lead değiştir"), starts a label with an "i"
that capfirst turns into a dotless "I", puts a plural after a number ("5 şablonlar") or has a typo ("Parola
değiştime"); axes leaves most of its labels in English. Never imported: only read by makemessages.
"""

from django.utils.translation import gettext_noop, ngettext_lazy

ADMIN_STRINGS = [
    gettext_noop("change message"),
    gettext_noop("permission"),
    gettext_noop("permissions"),
    gettext_noop("content type"),
    gettext_noop("content types"),
    gettext_noop("Add %s"),
    gettext_noop("Add %(name)s"),
    gettext_noop("Change %s"),
    gettext_noop("View %s"),
    gettext_noop("Select %s"),
    gettext_noop("Cannot delete %(name)s"),
    gettext_noop("Delete selected %(verbose_name_plural)s"),
    gettext_noop("Delete selected %(model)s"),
    gettext_noop("Successfully deleted %(count)d %(items)s."),
    gettext_noop("Select all %(total_count)s %(module_name)s"),
    gettext_noop("Password change"),
    gettext_noop("Models in the %(name)s application"),
    gettext_noop(" By %(filter_title)s "),
    gettext_noop(
        'Are you sure you want to delete the %(object_name)s "%(escaped_object)s"? All of the '
        "following related items will be deleted:"
    ),
    gettext_noop(
        "Deleting the %(object_name)s '%(escaped_object)s' would require deleting the following "
        "protected related objects:"
    ),
    gettext_noop(
        "Deleting the %(object_name)s '%(escaped_object)s' would result in deleting related "
        "objects, but your account doesn't have permission to delete the following types of "
        "objects:"
    ),
    gettext_noop(
        "Deleting the selected %(objects_name)s would result in deleting related objects, but your "
        "account doesn't have permission to delete the following types of objects:"
    ),
    gettext_noop(
        "Deleting the selected %(objects_name)s would require deleting the following protected related objects:"
    ),
    gettext_noop(
        "Are you sure you want to delete the selected %(objects_name)s? All of the following "
        "objects and their related items will be deleted:"
    ),
    gettext_noop("The %(name)s “%(obj)s” was deleted successfully."),
    gettext_noop(
        "You are authenticated as %(username)s, but are not authorized to access this page. Would "
        "you like to login to a different account?"
    ),
    gettext_noop("Added {name} “{object}”."),
    gettext_noop("Changed {fields} for {name} “{object}”."),
    gettext_noop("Changed {fields}."),
    gettext_noop("Deleted {name} “{object}”."),
    gettext_noop("The {name} “{obj}” was added successfully."),
    gettext_noop("The {name} “{obj}” was added successfully. You may add another {name} below."),
    gettext_noop("The {name} “{obj}” was changed successfully."),
    gettext_noop("The {name} “{obj}” was changed successfully. You may add another {name} below."),
    gettext_noop("The {name} “{obj}” was changed successfully. You may edit it again below."),
    ngettext_lazy(
        "%(count)s %(name)s was changed successfully.", "%(count)s %(name)s were changed successfully.", "count"
    ),
]

# Django's app names, title-cased in its Turkish ("Kimlik Doğrulama ve Yetkilendirme").
APP_NAMES = [
    gettext_noop("Authentication and Authorization"),
    gettext_noop("Content Types"),
    gettext_noop("Static Files"),
]

# Labels the admin shows where a sentence starts (a filter's title after "Süzgeç:"), lowercase in Django's Turkish.
USER_FILTER_TITLES = [
    gettext_noop("staff status"),
    gettext_noop("superuser status"),
    gettext_noop("active"),
    gettext_noop("groups"),
]

# django-axes: the names of its models (the permission lists show them all) and the fields our admin shows
# (accounts.admin).
AXES_STRINGS = [
    gettext_noop("access attempt"),
    gettext_noop("access attempts"),
    gettext_noop("access attempt expiration"),
    gettext_noop("access attempt expirations"),
    gettext_noop("access failure"),
    gettext_noop("access failures"),
    gettext_noop("access log"),
    gettext_noop("access logs"),
    gettext_noop("User Agent"),
    gettext_noop("IP Address"),
    gettext_noop("Username"),
    gettext_noop("HTTP Accept"),
    gettext_noop("Path"),
    gettext_noop("Attempt Time"),
    gettext_noop("GET Data"),
    gettext_noop("POST Data"),
    gettext_noop("Failed Logins"),
    gettext_noop("Logout Time"),
    gettext_noop("Session key hash (sha256)"),
]
