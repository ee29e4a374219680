from django.urls import path

from . import api, views

app_name = "notifications"

urlpatterns = [
    path("api/messages/events", api.EventsView.as_view(), name="events"),
    path("events/stream", views.stream, name="stream"),
]
