"""The agents' pages: the inbox and a conversation (htmx fragments when asked by htmx)."""

import uuid

from django.contrib import messages as flash
from django.contrib.auth.decorators import login_required, permission_required
from django.core.paginator import Paginator
from django.db.models import Sum
from django.http import HttpResponse, JsonResponse, QueryDict
from django.shortcuts import get_object_or_404, redirect, render
from django.urls import reverse
from django.utils.translation import gettext_lazy as _
from django.views.decorators.http import require_GET, require_POST
from django_htmx.http import reswap, retarget, trigger_client_event

from accounts.permissions import (
    CHANGE_CONVERSATION,
    CHANGE_MESSAGE,
    EDIT_LEAD,
    MERGE_LEADS,
    PREVIEW_TEMPLATE,
    READ_CONVERSATIONS,
    SEND_MESSAGE,
    has_perms,
)
from accounts.selectors import users_with_perms
from conversations.selectors import lead_current_conversation
from conversations.services import SNOOZE_PRESETS, ConversationRefused, conversations_action
from leads.models import Lead, Stage
from leads.selectors import lead_duplicates
from leads.services import lead_save
from messaging.backends.base import get_backend
from messaging.models import Channel, Message
from messaging.selectors import ATTACHMENTS, message_text_searchable, thread_page
from messaging.services.messages import messages_mark_read, messages_set_starred
from messaging.services.outbound import (
    WHATSAPP_WINDOW,
    SendRefused,
    lead_default_channel,
    message_send_any,
    whatsapp_window_open,
)
from templates_app.forms import CannedReplyForm
from templates_app.models import CannedReply, Template
from templates_app.rendering import content_preview, template_extra_values, template_preview, template_value_boxes
from templates_app.selectors import CANNED_PICKER_SIZE, canned_replies_for, templates_sendable
from templates_app.services import canned_reply_delete, canned_reply_save

from .forms import InboxFilterForm, LeadDetailsForm
from .selectors import INBOX_PAGE_SIZE, inbox_counts, inbox_leads


def _list_context(request) -> dict:
    """The conversation list as the query string asks (its filters, view and status, page)."""
    form = InboxFilterForm(request.GET)
    form.is_valid()
    filters = form.filters()
    leads = inbox_leads(user=request.user, **filters)
    counts = inbox_counts(user=request.user, status=filters["status"])
    return {
        "rows": Paginator(leads, INBOX_PAGE_SIZE).get_page(request.GET.get("page")),
        "filters": filters,
        "filter_errors": form.error_messages(),
        "view_tabs": [(value, label, counts[value]) for value, label in form.fields["view"].choices],
        "status_choices": form.fields["status"].choices,
        "can_change": has_perms(request.user, CHANGE_CONVERSATION),
        "agents": users_with_perms(READ_CONVERSATIONS),
        "stages": Stage.objects.all(),
        "channels": Channel.choices,
        "message_text_searchable": message_text_searchable(),
        "list_query": request.GET.urlencode(),
    }


@login_required
@permission_required(READ_CONVERSATIONS, raise_exception=True)
@require_GET
def inbox(request):
    """The conversation list, and beside it on a wide screen the open conversation (none yet)."""
    context = _list_context(request)
    template = "inbox/partials/inbox_list.html" if request.htmx else "inbox/inbox.html"
    return render(request, template, context)


def _conversation_state(lead: Lead) -> dict:
    """What the open conversation shows about the lead's state; the page re-reads it when the lead's events arrive.

    Messages need a phone and no opt-out; free-form text on WhatsApp also needs the 24-hour window open.
    """
    channel = lead_default_channel(lead)
    window_open = whatsapp_window_open(lead)
    can_send = bool(lead.phone) and lead.opted_out_at is None
    can_type = can_send and (channel != Channel.WHATSAPP or window_open)
    closes_at = lead.last_inbound_at + WHATSAPP_WINDOW if can_type and channel == Channel.WHATSAPP else None
    return {
        "lead": lead,
        "channel": channel,
        "window_open": window_open,
        "window_closes_at": closes_at,
        "can_send": can_send,
        "can_type": can_type,
    }


def _controls_context(request, lead: Lead, **extra) -> dict:
    """Who has the lead's conversation and its state, with what the agent may do about it."""
    return {
        "lead": lead,
        "conversation": lead_current_conversation(lead_id=lead.pk),
        "agents": users_with_perms(READ_CONVERSATIONS),
        "can_change": has_perms(request.user, CHANGE_CONVERSATION),
        "snooze_presets": SNOOZE_PRESETS,
        **extra,
    }


def _panel_context(request, lead: Lead, form: LeadDetailsForm | None = None) -> dict:
    """The lead panel: its details, and for who may merge leads its likely duplicates (read only for them)."""
    can_merge = has_perms(request.user, MERGE_LEADS)
    return {
        "details_form": form or LeadDetailsForm(instance=lead),
        "can_merge": can_merge,
        "duplicates": lead_duplicates(lead=lead) if can_merge else [],
    }


def _conversation_context(request, lead: Lead, **extra) -> dict:
    state = _conversation_state(lead)
    return {
        **state,
        **_controls_context(request, lead),
        **_panel_context(request, lead),
        "templates": templates_sendable(channel=state["channel"]),
        "max_body_length": get_backend(state["channel"]).max_body_length,
        **extra,
    }


@login_required
@permission_required(READ_CONVERSATIONS, raise_exception=True)
@require_GET
def conversation(request, pk):
    """A conversation: in the list's page beside the list (a full page), or the pane alone (the list asked for it,
    keeping itself), or a page of older messages (the thread scrolled up)."""
    lead = get_object_or_404(Lead.objects.select_related("stage"), pk=pk)
    before = None
    if before_id := request.GET.get("before"):
        before = get_object_or_404(Message, pk=before_id, lead=lead) if _is_uuid(before_id) else None
    page, has_older = thread_page(lead=lead, before=before)
    context = {"page": page, "has_older": has_older}
    if request.htmx and before is not None:
        return render(request, "inbox/partials/thread_page.html", {"lead": lead, **context})
    messages_mark_read(queryset=lead.messages.filter(is_from_lead=True, is_read=False))
    lead.refresh_from_db()
    context = _conversation_context(request, lead, **context, list_query=request.GET.urlencode())
    if request.htmx and request.htmx.target == "pane":
        return render(request, "inbox/partials/pane.html", context)
    listed = _list_context(request)
    # One read of the agents for the list's bulk bar and the conversation's controls (a queryset keeps its rows).
    return render(request, "inbox/inbox.html", {**listed, **context, "agents": listed["agents"], "open_lead": lead})


@login_required
@permission_required(CHANGE_CONVERSATION, raise_exception=True)
@require_POST
def conversation_change(request, pk):
    """Take, assign, unassign, resolve, snooze or reopen the lead's conversation; the controls as they are now, with
    the reason when it could not be done (another agent took it a moment before)."""
    lead = get_object_or_404(Lead, pk=pk)
    error = ""
    try:
        conversations_action(
            lead_ids=[lead.pk],
            action=request.POST.get("action", ""),
            agent=request.user,
            assignee_id=request.POST.get("assignee", ""),
            snooze=request.POST.get("snooze", ""),
            until=request.POST.get("until", ""),
        )
    except ConversationRefused as refused:
        error = refused.message
    if request.htmx:
        return render(
            request, "inbox/partials/conversation_controls.html", _controls_context(request, lead, error=error)
        )
    if error:
        flash.error(request, error)
    return redirect("inbox:conversation", lead.pk)


@login_required
@permission_required(CHANGE_CONVERSATION, raise_exception=True)
@require_POST
def conversations_change(request):
    """The same for the conversations ticked in the list; the list as it is now."""
    error = ""
    try:
        conversations_action(
            lead_ids=[value for value in request.POST.getlist("lead") if _is_uuid(value)],
            action=request.POST.get("action", ""),
            agent=request.user,
            assignee_id=request.POST.get("assignee", ""),
            snooze=request.POST.get("snooze", ""),
            until=request.POST.get("until", ""),
        )
    except ConversationRefused as refused:
        error = refused.message
    query = request.POST.get("list_query", "")
    if request.htmx:
        request.GET = QueryDict(query)
        return render(request, "inbox/partials/inbox_list.html", {**_list_context(request), "bulk_error": error})
    if error:
        flash.error(request, error)
    return redirect(f"{reverse('inbox:index')}?{query}")


@login_required
@permission_required(SEND_MESSAGE, raise_exception=True)
@require_POST
def send(request, pk):
    lead = get_object_or_404(Lead, pk=pk)
    wants_template = bool(request.POST.get("send-template"))  # the template's button; Enter sends the text or file
    template = _chosen_template(request.POST) if wants_template else None
    try:
        if wants_template and template is None:
            raise SendRefused(str(_("Choose a template.")), code="template")
        message = message_send_any(
            lead=lead,
            body=request.POST.get("body", ""),
            template=template,
            parameters=template_extra_values(request.POST),
            upload=request.FILES.get("file"),
            sender=request.user,
        )
    except SendRefused as exc:
        if request.htmx:
            response = HttpResponse(exc.message, content_type="text/plain; charset=utf-8")
            return reswap(retarget(response, "#composer-error"), "innerHTML")
        flash.error(request, exc.message)
        return redirect("inbox:conversation", lead.pk)
    if request.htmx:
        return render(request, "inbox/partials/bubble.html", {"message": message, "lead": lead})
    return redirect("inbox:conversation", lead.pk)


@login_required
@permission_required(READ_CONVERSATIONS, raise_exception=True)
@require_GET
def unread(request):
    """The unread total, for the tab title."""
    total = Lead.objects.aggregate(total=Sum("unread_count"))["total"] or 0
    return JsonResponse({"total": total})


@login_required
@permission_required(READ_CONVERSATIONS, raise_exception=True)
@require_GET
def bubble(request, pk, message_pk):
    """One message as the open conversation shows it (live updates fetch it); seen there, so it is read."""
    message = get_object_or_404(Message.objects.prefetch_related(ATTACHMENTS), pk=message_pk, lead_id=pk)
    if message.is_from_lead and not message.is_read:
        messages_mark_read(queryset=Message.objects.filter(pk=message.pk))
        message.refresh_from_db()
    return render(request, "inbox/partials/bubble.html", {"message": message, "lead": message.lead})


@login_required
@permission_required(CHANGE_MESSAGE, raise_exception=True)
@require_POST
def star(request, pk, message_pk):
    message = get_object_or_404(Message, pk=message_pk, lead_id=pk)
    messages_set_starred(queryset=Message.objects.filter(pk=message.pk), starred=not message.is_starred)
    message.refresh_from_db()
    if request.htmx:
        return render(request, "inbox/partials/bubble.html", {"message": message, "lead": message.lead})
    return redirect("inbox:conversation", pk)


@login_required
@permission_required(EDIT_LEAD, raise_exception=True)
@require_POST
def lead_details(request, pk):
    lead = get_object_or_404(Lead, pk=pk)
    form = LeadDetailsForm(request.POST, instance=lead)
    saved = form.is_valid()
    if saved:
        lead = lead_save(lead=form.save(commit=False))
        form = LeadDetailsForm(instance=lead)  # shows what was stored (the phone in E.164), not what was typed
    if request.htmx:
        response = render(
            request,
            "inbox/partials/lead_panel.html",
            {"lead": lead, **_panel_context(request, lead, form), "saved": saved},
        )
        return trigger_client_event(response, "conversation-changed") if saved else response
    return redirect("inbox:conversation", pk)


@login_required
@permission_required(READ_CONVERSATIONS, raise_exception=True)
@require_GET
def conversation_state(request, pk):
    """The open conversation's heading, notices and composer state, re-read when the lead's events arrive."""
    lead = get_object_or_404(Lead, pk=pk)
    return render(
        request,
        "inbox/partials/conversation_state.html",
        {**_conversation_state(lead), **_controls_context(request, lead)},
    )


@login_required
@permission_required(PREVIEW_TEMPLATE, raise_exception=True)
@require_GET
def preview(request, pk):
    lead = get_object_or_404(Lead, pk=pk)
    template = _chosen_template(request.GET)
    rendered = None
    if template is not None:
        rendered = template_preview(template=template, lead=lead, extra=template_extra_values(request.GET))
    context = {"preview": rendered, "template": template, "lead": lead}
    if request.GET.get("part") == "values":  # a template was chosen: its value boxes, and the preview beside them
        boxes = template_value_boxes(template)
        return render(request, "inbox/partials/template_values.html", {**context, "boxes": boxes})
    return render(request, "inbox/partials/template_preview.html", context)


def _chosen_template(data) -> Template | None:
    template_id = data.get("template")
    return Template.objects.filter(pk=template_id).first() if _is_uuid(template_id) else None


def _is_uuid(value) -> bool:
    try:
        uuid.UUID(str(value))
    except ValueError:
        return False
    return True


@login_required
@permission_required(SEND_MESSAGE, raise_exception=True)
@require_GET
def reply_picker(request, pk):
    """The canned replies matching what follows `/` in the composer, filled for this lead."""
    lead = get_object_or_404(Lead, pk=pk)
    replies = canned_replies_for(user=request.user, query=request.GET.get("q", "")[:32])[:CANNED_PICKER_SIZE]
    items = [{"reply": reply, **content_preview(content=reply.text, lead=lead)} for reply in replies]
    return render(request, "inbox/partials/reply_picker.html", {"items": items})


@login_required
@permission_required(SEND_MESSAGE, raise_exception=True)
def my_replies(request):
    """The agent's own canned replies (and, to read, the team's): made, changed and deleted here."""
    editing = None
    if reply_id := request.GET.get("edit") or request.POST.get("reply"):
        editing = get_object_or_404(CannedReply, pk=reply_id, owner=request.user) if _is_uuid(reply_id) else None
    if request.method == "POST" and request.POST.get("delete") and editing is not None:
        canned_reply_delete(reply=editing)
        flash.success(request, _("The reply /%(shortcut)s was deleted.") % {"shortcut": editing.shortcut})
        return redirect("inbox:replies")
    form = CannedReplyForm(
        request.POST if request.method == "POST" else None, instance=editing or CannedReply(owner=request.user)
    )
    if request.method == "POST" and form.is_valid():
        reply = canned_reply_save(reply=form.instance)
        flash.success(request, _("The reply /%(shortcut)s was saved.") % {"shortcut": reply.shortcut})
        return redirect("inbox:replies")
    context = {
        "form": form,
        "editing": editing,
        "own": CannedReply.objects.filter(owner=request.user),
        "shared": CannedReply.objects.filter(owner__isnull=True),
    }
    return render(request, "inbox/replies.html", context, status=400 if form.errors else 200)
