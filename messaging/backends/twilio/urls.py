from django.urls import path

from .views import twilio_webhook

urlpatterns = [
    path("api/twilio/webhook", twilio_webhook, name="twilio-webhook"),  # the spec's URL
]
