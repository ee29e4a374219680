from django.urls import path

from . import api, views

app_name = "messaging"

urlpatterns = [
    path("api/twilio/webhook", views.twilio_webhook, name="twilio-webhook"),
    path("api/debug/webhook-diagnostics", api.WebhookDiagnosticsView.as_view(), name="webhook-diagnostics"),
    path("api/debug/messages", api.PhoneMessagesView.as_view(), name="debug-messages"),
    path("api/leads/<uuid:pk>/messages", api.LeadSendView.as_view(), name="lead-send"),
    path("messages/media/<uuid:pk>", views.media_file, name="media"),
    path("m/<str:token>", views.public_media, name="public-media"),
]
