"""The agents' pages: the inbox and a conversation (htmx fragments when asked by htmx)."""

import uuid

from django.conf import settings
from django.contrib import messages as flash
from django.contrib.auth.decorators import login_required, permission_required
from django.core.exceptions import PermissionDenied
from django.db.models import Sum
from django.http import HttpResponse, JsonResponse, QueryDict
from django.shortcuts import get_object_or_404, redirect, render
from django.urls import reverse
from django.utils.translation import gettext_lazy as _
from django.views.decorators.http import require_GET, require_POST
from django_htmx.http import reswap, retarget, trigger_client_event

from accounts.permissions import (
    ADD_LEAD,
    ADD_NOTE,
    CHANGE_CONVERSATION,
    CHANGE_MESSAGE,
    EDIT_LEAD,
    MERGE_LEADS,
    PREVIEW_TEMPLATE,
    READ_CONVERSATIONS,
    SEND_MESSAGE,
    has_perms,
)
from accounts.selectors import user_is_available, users_with_perms
from accounts.services import user_availability_set
from conversations.models import Note
from conversations.selectors import NOTE_FIELDS, lead_current_conversation
from conversations.services import (
    SNOOZE_PRESETS,
    ConversationRefused,
    conversation_channel_set,
    conversations_action,
    mentions_seen,
    note_add,
)
from leads.models import Label, Lead, Stage
from leads.selectors import SearchTerms, lead_duplicates, lead_search_q
from leads.services import DuplicatePhone, lead_save, leads_labels_change
from messaging.backends.base import get_backend
from messaging.models import Channel, Message
from messaging.selectors import (
    ATTACHMENTS,
    lead_best_template,
    lead_opted_out_explanation,
    message_text_searchable,
)
from messaging.services.messages import lead_mark_unread, messages_mark_read, messages_set_starred
from messaging.services.outbound import (
    WHATSAPP_WINDOW,
    SendRefused,
    lead_default_channel,
    message_send_any,
    whatsapp_window_open,
)
from notifications.presence import HEARTBEAT, STATES, lead_viewers, presence_signal
from templates_app.forms import CannedReplyForm
from templates_app.models import CannedReply, Template
from templates_app.rendering import content_preview, template_extra_values, template_preview, template_value_boxes
from templates_app.selectors import CANNED_PICKER_SIZE, canned_replies_for, templates_sendable
from templates_app.services import canned_reply_delete, canned_reply_save

from .forms import InboxFilterForm, LeadDetailsForm, StartConversationForm
from .selectors import INBOX_PAGE_SIZE, InboxPaginator, inbox_counts, inbox_leads, inbox_list_count, thread_entries

START_MATCHES = 10  # leads listed while looking for whom to write to


def _list_context(request) -> dict:
    """The conversation list as the query string asks (its filters, view and status, page)."""
    form = InboxFilterForm(request.GET)
    form.is_valid()
    filters = form.filters()
    leads = inbox_leads(user=request.user, **filters)
    counts = inbox_counts(user=request.user, status=filters["status"])
    return {
        "rows": InboxPaginator(leads, INBOX_PAGE_SIZE, known=inbox_list_count(filters, counts)).get_page(
            request.GET.get("page")
        ),
        "filters": filters,
        "filter_errors": form.error_messages(),
        "view_tabs": [(value, label, counts[value]) for value, label in form.fields["view"].choices],
        "status_choices": form.fields["status"].choices,
        "can_change": has_perms(request.user, CHANGE_CONVERSATION),
        "can_edit_lead": has_perms(request.user, EDIT_LEAD),
        "can_start": has_perms(request.user, SEND_MESSAGE),
        "agents": users_with_perms(READ_CONVERSATIONS),
        "stages": Stage.objects.all(),
        "labels": Label.objects.all(),
        "channels": Channel.choices,
        "message_text_searchable": message_text_searchable(),
        "list_query": request.GET.urlencode(),
        "auto_assign": settings.INBOX_AUTO_ASSIGN,
        "available": user_is_available(user=request.user) if settings.INBOX_AUTO_ASSIGN else False,
    }


@login_required
@permission_required(READ_CONVERSATIONS, raise_exception=True)
@require_GET
def inbox(request):
    """The conversation list, and beside it on a wide screen the open conversation (none yet)."""
    context = _list_context(request)
    template = "inbox/partials/inbox_list.html" if request.htmx else "inbox/inbox.html"
    return render(request, template, context)


def _conversation_state(lead: Lead, channel: str = "") -> dict:
    """What the open conversation shows about the lead's state on `channel` (else the one chosen for it, else its
    own); the page re-reads it when the lead's events arrive.

    Messages need a phone and no opt-out; free-form text on WhatsApp also needs the 24-hour window open.
    """
    channel = channel if channel in Channel.values else lead_default_channel(lead)
    window_open = whatsapp_window_open(lead)
    can_send = bool(lead.phone) and lead.opted_out_at is None
    can_type = can_send and (channel != Channel.WHATSAPP or window_open)
    closes_at = lead.last_inbound_at + WHATSAPP_WINDOW if can_type and channel == Channel.WHATSAPP else None
    lead_labels = list(Label.objects.filter(leads=lead))
    return {
        # Why messaging is off, when the lead opted out: one query more, for opted-out leads only.
        "opted_out_explanation": lead_opted_out_explanation(lead) if lead.opted_out_at and lead.phone else "",
        "lead": lead,
        "lead_labels": lead_labels,
        "labels": Label.objects.all(),
        "channel": channel,
        "channels": Channel.choices,
        "window_open": window_open,
        "window_closes_at": closes_at,
        "can_send": can_send,
        "can_type": can_type,
    }


def _controls_context(request, lead: Lead, **extra) -> dict:
    """Who has the lead's conversation and its state, with what the agent may do about it."""
    return {
        "lead": lead,
        "can_edit_lead": has_perms(request.user, EDIT_LEAD),
        "can_mark_unread": has_perms(request.user, CHANGE_MESSAGE),
        "conversation": lead_current_conversation(lead_id=lead.pk),
        "agents": users_with_perms(READ_CONVERSATIONS),
        "can_change": has_perms(request.user, CHANGE_CONVERSATION),
        "snooze_presets": SNOOZE_PRESETS,
        **extra,
    }


def _templates_context(lead: Lead, state: dict) -> dict:
    """The templates the composer offers on the state's channel, and, when only a template may be sent now, the one
    to offer first (one click fills it in)."""
    templates = list(templates_sendable(channel=state["channel"]))
    best = lead_best_template(lead=lead, templates=templates) if state["can_send"] and not state["can_type"] else None
    return {"templates": templates, "best_template": best}


def _panel_context(request, lead: Lead, form: LeadDetailsForm | None = None) -> dict:
    """The lead panel: its details, and for who may merge leads its likely duplicates (read only for them)."""
    can_merge = has_perms(request.user, MERGE_LEADS)
    return {
        "details_form": form or LeadDetailsForm(instance=lead),
        "can_merge": can_merge,
        "duplicates": lead_duplicates(lead=lead) if can_merge else [],
    }


def _conversation_context(request, lead: Lead, channel: str = "", **extra) -> dict:
    state = _conversation_state(lead, channel)
    return {
        **state,
        **_controls_context(request, lead),
        **_templates_context(lead, state),
        **_panel_context(request, lead),
        "max_body_length": get_backend(state["channel"]).max_body_length,
        "can_note": has_perms(request.user, ADD_NOTE),
        "presence_heartbeat": HEARTBEAT,
        "note_max_length": Note.MAX_LENGTH,
        **extra,
    }


@login_required
@permission_required(SEND_MESSAGE, raise_exception=True)
def start(request):
    """Write to someone: a lead found by name or number (one that never wrote, too), or a new one made from a
    number in any form and a name; their conversation opens on the chosen channel, where WhatsApp's closed window
    offers the approved templates first."""
    form = StartConversationForm(request.POST or None, initial={"channel": Channel.WHATSAPP})
    if request.method == "POST" and form.is_valid():
        lead = form.existing
        if lead is None:
            if not has_perms(request.user, ADD_LEAD):
                raise PermissionDenied
            try:
                lead = lead_save(lead=Lead(name=form.cleaned_data["name"].strip(), phone=form.cleaned_data["phone"]))
            except DuplicatePhone as taken:  # made by someone else a moment ago: theirs is the one
                lead = taken.existing
        # "via", not "channel": that is the list's channel filter, which the same address carries.
        return redirect(f"{reverse('inbox:conversation', args=[lead.pk])}?via={form.cleaned_data['channel']}")
    query = request.GET.get("q", "").strip()[:100]
    found = []
    if terms := SearchTerms.parse(query):
        found = list(Lead.objects.filter(lead_search_q(terms=terms)).order_by("name", "pk")[:START_MATCHES])
    context = {"form": form, "query": query, "found": found, "can_add_lead": has_perms(request.user, ADD_LEAD)}
    status = 400 if form.errors else 200
    if request.htmx and request.htmx.target in ("pane", "start-matches"):
        template = (
            "inbox/partials/start_matches.html"
            if request.htmx.target == "start-matches"
            else "inbox/partials/start.html"
        )
        return render(request, template, context, status=status)
    return render(request, "inbox/inbox.html", {**_list_context(request), **context, "starting": True}, status=status)


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
    context = {"thread": thread_entries(lead=lead, before=before)}
    if request.htmx and before is not None:
        return render(request, "inbox/partials/thread_page.html", {"lead": lead, **context})
    messages_mark_read(queryset=lead.messages.filter(is_from_lead=True, is_read=False))
    mentions_seen(lead_id=lead.pk, user=request.user)
    lead.refresh_from_db()
    context = _conversation_context(
        request, lead, channel=request.GET.get("via", ""), **context, list_query=request.GET.urlencode()
    )
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
    """The same for the conversations ticked in the list, or a label put on their leads or taken off; the list as
    it is now."""
    error = ""
    lead_ids = [value for value in request.POST.getlist("lead") if _is_uuid(value)]
    action = request.POST.get("action", "")
    try:
        if action in ("label_add", "label_remove"):
            _bulk_labels(request, lead_ids=lead_ids, add=action == "label_add")
        else:
            conversations_action(
                lead_ids=lead_ids,
                action=action,
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


def _bulk_labels(request, *, lead_ids, add: bool) -> None:
    if not has_perms(request.user, EDIT_LEAD):
        raise ConversationRefused(str(_("You may not change leads' labels.")), code="permission")
    label_id = request.POST.get("label")
    label = Label.objects.filter(pk=label_id).first() if _is_uuid(label_id) else None
    if label is None:
        raise ConversationRefused(str(_("Choose a label.")), code="label")
    if not lead_ids:
        raise ConversationRefused(str(_("Tick the conversations first.")), code="none")
    leads_labels_change(lead_ids=lead_ids, add=[label] if add else [], remove=[] if add else [label])


def _composer_refused(request, lead: Lead, message: str, *, target: str):
    """What a composer is told when its message or note is refused: the reason above it (the text stays typed), or
    on the page after a plain post."""
    if request.htmx:
        response = HttpResponse(message, content_type="text/plain; charset=utf-8")
        return reswap(retarget(response, target), "innerHTML")
    flash.error(request, message)
    return redirect("inbox:conversation", lead.pk)


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
            channel=request.POST.get("channel") or None,
            sender=request.user,
        )
    except SendRefused as exc:
        return _composer_refused(request, lead, exc.message, target="#composer-error")
    if request.htmx:
        return render(request, "inbox/partials/bubble.html", {"message": message, "lead": lead})
    return redirect("inbox:conversation", lead.pk)


@login_required
@permission_required(ADD_NOTE, raise_exception=True)
@require_POST
def note_create(request, pk):
    """A private note in the thread (never sent); its @mentions notify those agents."""
    lead = get_object_or_404(Lead, pk=pk)
    try:
        note = note_add(lead=lead, author=request.user, body=request.POST.get("body", ""))
    except ConversationRefused as refused:
        return _composer_refused(request, lead, refused.message, target="#note-error")
    if request.htmx:
        return render(request, "inbox/partials/note.html", {"note": note, "lead": lead})
    return redirect("inbox:conversation", lead.pk)


@login_required
@permission_required(READ_CONVERSATIONS, raise_exception=True)
@require_GET
def note(request, pk, note_pk):
    """One note as the open conversation shows it (live updates fetch it)."""
    note = get_object_or_404(Note.objects.select_related("author").only(*NOTE_FIELDS), pk=note_pk, lead_id=pk)
    return render(request, "inbox/partials/note.html", {"note": note})


@login_required
@permission_required(READ_CONVERSATIONS, raise_exception=True)
@require_POST
def presence(request, pk):
    """The agent's page has the conversation open (`viewing`, every HEARTBEAT seconds), is typing a reply in it
    (`typing`) or closed it (`left`); the other agents who have it open now."""
    lead = get_object_or_404(Lead.objects.only("pk"), pk=pk)
    state = request.POST.get("state", "")
    if state not in STATES:
        return JsonResponse({"error": str(_("Unknown state."))}, status=400)
    presence_signal(lead_id=lead.pk, user=request.user, state=state)
    team = users_with_perms(READ_CONVERSATIONS).exclude(pk=request.user.pk).values_list("pk", flat=True)
    return JsonResponse({"viewers": lead_viewers(lead_id=lead.pk, user_ids=list(team))})


@login_required
@permission_required(CHANGE_MESSAGE, raise_exception=True)
@require_POST
def mark_unread(request, pk):
    """Leave the conversation for later: unread again for the whole team, and closed on this page (opening it would
    read it again); back to the list as it was."""
    lead = get_object_or_404(Lead, pk=pk)
    lead_mark_unread(lead=lead)
    if request.htmx:
        return HttpResponse(status=204)
    query = request.POST.get("list_query", "")
    return redirect(f"{reverse('inbox:index')}?{query}" if query else reverse("inbox:index"))


@login_required
@permission_required(READ_CONVERSATIONS, raise_exception=True)
@require_POST
def availability(request):
    """The agent takes new conversations (or no longer does) when they are given out in turn."""
    available = request.POST.get("available") == "1"
    user_availability_set(user=request.user, available=available)
    if request.htmx:
        return render(request, "inbox/partials/availability.html", {"available": available, "auto_assign": True})
    return redirect("inbox:index")


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
@permission_required(EDIT_LEAD, raise_exception=True)
@require_POST
def lead_labels(request, pk):
    """Put a label on the lead (`add`) or take one off (`remove`); the labels as they are now."""
    lead = get_object_or_404(Lead, pk=pk)
    add = Label.objects.filter(pk=request.POST["add"]) if _is_uuid(request.POST.get("add")) else []
    remove = Label.objects.filter(pk=request.POST["remove"]) if _is_uuid(request.POST.get("remove")) else []
    leads_labels_change(lead_ids=[lead.pk], add=add, remove=remove)
    if request.htmx:
        context = {**_conversation_state(lead), **_controls_context(request, lead)}
        return trigger_client_event(render(request, "inbox/partials/lead_labels.html", context), "conversation-changed")
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
        {**_conversation_state(lead, request.GET.get("via", "")), **_controls_context(request, lead)},
    )


@login_required
@permission_required(SEND_MESSAGE, raise_exception=True)
@require_POST
def channel(request, pk):
    """The agent chose the channel to write on: remembered in the lead's current conversation (for every agent);
    the conversation's state and templates as they are on that channel."""
    lead = get_object_or_404(Lead, pk=pk)
    chosen = request.POST.get("channel", "")
    if chosen not in Channel.values:
        return HttpResponse(_("Choose WhatsApp or SMS."), status=400, content_type="text/plain; charset=utf-8")
    conversation_channel_set(lead_id=lead.pk, channel=chosen)
    state = _conversation_state(lead, chosen)
    context = {**state, **_controls_context(request, lead), **_templates_context(lead, state)}
    return render(request, "inbox/partials/channel_changed.html", context)


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
