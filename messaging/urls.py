from django.urls import include, path

from . import views
from .backends.base import webhook_url_modules

app_name = "messaging"

urlpatterns = [
    # Each provider's webhook lives with its provider (Twilio's at the spec's /api/twilio/webhook).
    *(path("", include(module)) for module in webhook_url_modules()),
    path("messages/media/<uuid:pk>", views.media_file, name="media"),
    path("m/<str:token>", views.public_media, name="public-media"),
]
