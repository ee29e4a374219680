from django.contrib.auth import get_user_model
from django.contrib.auth.models import Group, Permission
from django.contrib.auth.signals import user_logged_in
from django.db.models.signals import m2m_changed, post_delete, post_migrate, post_save
from django.dispatch import receiver

from .backends import permissions_changed
from .services import user_language_restore


@receiver(user_logged_in, dispatch_uid="accounts.language_restore")
def language_restore(sender, request, user, **kwargs):
    if request is not None and hasattr(request, "session"):
        user_language_restore(user=user, session=request.session)


def _membership_changed(sender, action, **kwargs):
    if action in ("post_add", "post_remove", "post_clear"):
        permissions_changed()


def _row_changed(sender, **kwargs):
    permissions_changed()


User = get_user_model()
for through in (User.groups.through, User.user_permissions.through, Group.permissions.through):
    m2m_changed.connect(_membership_changed, sender=through, dispatch_uid=f"accounts.permissions.{through.__name__}")
for model in (Group, Permission):
    for signal in (post_save, post_delete):
        signal.connect(_row_changed, sender=model, dispatch_uid=f"accounts.permissions.{model.__name__}.{id(signal)}")
# A migration's roles (accounts.roles.roles_sync) are written with its historical models, which send no signal above.
post_migrate.connect(_row_changed, dispatch_uid="accounts.permissions.migrated")
