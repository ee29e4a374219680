from django.urls import path

from . import views

app_name = "notifications"

urlpatterns = [
    path("events/stream", views.stream, name="stream"),
]
