from django.urls import path

from . import api

app_name = "notifications"

urlpatterns = [
    path("api/messages/events", api.EventsView.as_view(), name="events"),
]
