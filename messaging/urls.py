from django.urls import include, path

from . import chat, views
from .backends.base import webhook_url_modules

app_name = "messaging"

urlpatterns = [
    # Each provider's webhook lives with its provider (Twilio's at the spec's /api/twilio/webhook).
    *(path("", include(module)) for module in webhook_url_modules()),
    path("messages/media/<uuid:pk>", views.media_file, name="media"),
    path("m/<str:token>", views.public_media, name="public-media"),
    path("inbox/", chat.inbox, name="inbox"),
    path("inbox/unread", chat.unread, name="unread"),
    path("inbox/<uuid:pk>/", chat.conversation, name="conversation"),
    path("inbox/<uuid:pk>/send", chat.send, name="send"),
    path("inbox/<uuid:pk>/details", chat.lead_details, name="lead-details"),
    path("inbox/<uuid:pk>/state", chat.conversation_state, name="conversation-state"),
    path("inbox/<uuid:pk>/preview", chat.preview, name="preview"),
    path("inbox/<uuid:pk>/messages/<uuid:message_pk>/", chat.bubble, name="bubble"),
    path("inbox/<uuid:pk>/messages/<uuid:message_pk>/star", chat.star, name="star"),
]
