from django.urls import path

from . import views

app_name = "privacy"

urlpatterns = [
    path("inbox/<uuid:pk>/merge", views.lead_merge, name="lead-merge"),
]
