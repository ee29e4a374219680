from django.contrib.auth.signals import user_logged_in
from django.dispatch import receiver

from .services import user_language_restore


@receiver(user_logged_in, dispatch_uid="accounts.language_restore")
def language_restore(sender, request, user, **kwargs):
    if request is not None and hasattr(request, "session"):
        user_language_restore(user=user, session=request.session)
