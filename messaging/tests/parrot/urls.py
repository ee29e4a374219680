from django.urls import path

from .views import parrot_webhook

urlpatterns = [path("api/parrot/webhook", parrot_webhook, name="parrot-webhook")]
