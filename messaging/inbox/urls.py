from django.urls import path

from . import views

app_name = "inbox"

urlpatterns = [
    path("inbox/", views.inbox, name="index"),
    path("inbox/unread", views.unread, name="unread"),
    path("inbox/start", views.start, name="start"),
    path("inbox/availability", views.availability, name="availability"),
    path("inbox/conversations", views.conversations_change, name="conversations-change"),
    path("inbox/replies/", views.my_replies, name="replies"),
    path("inbox/<uuid:pk>/", views.conversation, name="conversation"),
    path("inbox/<uuid:pk>/send", views.send, name="send"),
    path("inbox/<uuid:pk>/details", views.lead_details, name="lead-details"),
    path("inbox/<uuid:pk>/unread", views.mark_unread, name="mark-unread"),
    path("inbox/<uuid:pk>/channel", views.channel, name="channel"),
    path("inbox/<uuid:pk>/presence", views.presence, name="presence"),
    path("inbox/<uuid:pk>/labels", views.lead_labels, name="lead-labels"),
    path("inbox/<uuid:pk>/state", views.conversation_state, name="conversation-state"),
    path("inbox/<uuid:pk>/conversation", views.conversation_change, name="conversation-change"),
    path("inbox/<uuid:pk>/preview", views.preview, name="preview"),
    path("inbox/<uuid:pk>/replies", views.reply_picker, name="reply-picker"),
    path("inbox/<uuid:pk>/notes", views.note_create, name="note-create"),
    path("inbox/<uuid:pk>/notes/<uuid:note_pk>/", views.note, name="note"),
    path("inbox/<uuid:pk>/messages/<uuid:message_pk>/", views.bubble, name="bubble"),
    path("inbox/<uuid:pk>/messages/<uuid:message_pk>/star", views.star, name="star"),
]
