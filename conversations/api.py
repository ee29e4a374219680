"""The conversations API: the team's episodes with leads (listed by status, assignee and lead, counted), a lead's
conversation changed as the inbox changes it (take, assign, unassign, resolve, snooze, reopen), its private notes
(read by cursor, added with their @mentions) and the caller's mentions seen. The same services and selectors as
the inbox's pages and the admin."""

from django.shortcuts import get_object_or_404
from django.urls import path
from django.utils.translation import gettext_lazy as _
from drf_spectacular.utils import (
    OpenApiExample,
    OpenApiResponse,
    extend_schema,
    extend_schema_field,
    extend_schema_view,
)
from rest_framework import mixins, serializers, status, viewsets
from rest_framework.decorators import action
from rest_framework.generics import GenericAPIView
from rest_framework.permissions import SAFE_METHODS
from rest_framework.response import Response
from rest_framework.views import APIView

from accounts.idempotency import idempotent
from accounts.permissions import ADD_NOTE, CHANGE_CONVERSATION, READ_CONVERSATIONS, api_permission
from accounts.selectors import agents_listed
from happycrm.rest import serializers as rest
from happycrm.rest.errors import ApiError
from happycrm.rest.pagination import KeysetPagination
from leads.models import Lead
from messaging.models import Channel

from .models import Conversation, Note
from .selectors import (
    CURRENT,
    conversation_counts,
    conversations_list,
    lead_latest_conversation,
    lead_notes_page,
    mentions_unseen_count,
)
from .services import ACTIONS, SNOOZE_PRESETS, ConversationRefused, conversations_action, mentions_seen, note_add

TAG = "conversations"
ANY_ID = "[^/]+"  # a malformed id reaches the view: 404 in the error format, not the router's page
MAX_USER_ID = 2**31 - 1  # the users table's ids
LEAD_ID_EXAMPLE = "8d5e3a52-2f43-4d6c-bb0e-5b8f0c1d9e77"
AGENT_EXAMPLE = {"id": 7, "name": "Ayşe Yılmaz", "username": "ayse"}
CONVERSATION_EXAMPLE = {
    "id": "1f6c2a9e-7b3d-4e58-a1c0-9d2e4f6a8b13",
    "lead": {"id": LEAD_ID_EXAMPLE, "name": "Deniz Kaya"},
    "status": "open",
    "assignee": AGENT_EXAMPLE,
    "channel": "whatsapp",
    "snoozed_until": None,
    "opened_at": "2027-03-01T10:15:00+03:00",
    "first_response_at": "2027-03-01T10:21:00+03:00",
    "resolved_at": None,
    "updated_at": "2027-03-01T10:21:00+03:00",
}
NOTE_EXAMPLE = {
    "id": "6b0d2f4a-8c1e-4a37-9e5b-0d2f4a6c8e19",
    "lead": LEAD_ID_EXAMPLE,
    "author": AGENT_EXAMPLE,
    "body": "@deniz fiyatı sen gönderir misin? Düğün 12 Haziran'da.",
    "mentioned": [9],
    "created_at": "2027-03-01T10:30:00+03:00",
}


class AgentSerializer(rest.Serializer):
    id = serializers.IntegerField(help_text="The user's id (what `assignee` takes).")
    name = serializers.SerializerMethodField(help_text="Their full name, else their username.")
    username = serializers.CharField(help_text="What a note's @mention names them by.")

    def get_name(self, user) -> str:
        return user.get_full_name() or user.get_username()


class TeamAgentSerializer(AgentSerializer):
    available = serializers.BooleanField(
        help_text="Whether they take new conversations when those are given out in turn (INBOX_AUTO_ASSIGN)."
    )


class AgentsView(APIView):
    """The team: who a conversation can be given to (`assignee`) and a note can mention."""

    permission_classes = [api_permission(READ_CONVERSATIONS)]

    @extend_schema(
        tags=[TAG],
        summary="List the agents",
        description=(
            "Every active user who may read conversations, by username: the ids `assignee` takes, the usernames a "
            "note's @mention names, and whether each is available for conversations given out in turn."
        ),
        responses={200: TeamAgentSerializer(many=True)},
        examples=[OpenApiExample("An agent", value={**AGENT_EXAMPLE, "available": True}, response_only=True)],
    )
    def get(self, request):
        return Response(TeamAgentSerializer(agents_listed(perms=READ_CONVERSATIONS), many=True).data)


class LeadRefSerializer(rest.Serializer):
    id = serializers.UUIDField(help_text="The lead's id.")
    name = serializers.CharField(help_text="The lead's name.")


class ConversationSerializer(rest.ModelSerializer):
    lead = LeadRefSerializer(help_text="The lead the conversation is with.")
    assignee = AgentSerializer(allow_null=True, help_text="The agent who has it; null while nobody has.")
    channel = serializers.SerializerMethodField(
        help_text="The channel the team chose to write on in this episode; null: the lead's own (its latest message's)."
    )

    class Meta:
        model = Conversation
        fields = [
            "id",
            "lead",
            "status",
            "assignee",
            "channel",
            "snoozed_until",
            "opened_at",
            "first_response_at",
            "resolved_at",
            "updated_at",
        ]
        read_only_fields = fields
        extra_kwargs = {
            "id": {"help_text": "The conversation's id."},
            "status": {"help_text": "`open` (waiting for the team), `snoozed` (until `snoozed_until`) or `resolved`."},
            "snoozed_until": {"help_text": "When a snoozed conversation opens again by itself; null otherwise."},
            "opened_at": {"help_text": "When the episode began (the lead's message, or an agent's first)."},
            "first_response_at": {"help_text": "When an agent first answered in it; null before."},
            "resolved_at": {"help_text": "When it was resolved; null unless resolved."},
            "updated_at": {"help_text": "When it last changed."},
        }

    @extend_schema_field(serializers.ChoiceField(choices=Channel.choices, allow_null=True))
    def get_channel(self, conversation) -> str | None:
        return conversation.channel or None


@extend_schema_field(
    {"type": "string", "pattern": rf"^(me|none|[1-9][0-9]{{0,{len(str(MAX_USER_ID)) - 1}}})$", "example": "me"}
)
class AssigneeFilterField(serializers.CharField):
    """A user's id, `me` (the caller) or `none` (nobody's)."""

    def to_internal_value(self, data):
        value = super().to_internal_value(data)
        if value in ("me", "none"):
            return value
        if (
            len(value) <= len(str(MAX_USER_ID))
            and value.isascii()
            and value.isdigit()
            and 1 <= int(value) <= MAX_USER_ID
        ):
            return int(value)
        raise serializers.ValidationError(_("Give a user's id, me or none."))


class ConversationFilters(serializers.Serializer):  # a query string: text, read as DRF reads forms
    """The conversation list's query parameters, checked (a bad value is 400, never an empty list)."""

    status = serializers.ChoiceField(
        choices=Conversation.Status.choices, required=False, help_text="Only the conversations in this status."
    )
    assignee = AssigneeFilterField(
        required=False,
        help_text="Only those of this agent (a user's id), the caller's (`me`) or nobody's (`none`).",
    )
    lead = serializers.UUIDField(required=False, help_text="Only this lead's (its episodes, the latest first).")
    mentioned = serializers.BooleanField(
        required=False,
        help_text="true: only those whose lead has a note mentioning the caller they have not seen; false: the others.",
    )


class StatusCountsSerializer(rest.Serializer):
    mine = serializers.IntegerField(help_text="The caller's.")
    unassigned = serializers.IntegerField(help_text="Nobody's.")
    all = serializers.IntegerField(help_text="Everyone's and nobody's.")


class CountsSerializer(rest.Serializer):
    open = StatusCountsSerializer(help_text="Open conversations.")
    snoozed = StatusCountsSerializer(help_text="Snoozed conversations.")
    mentions = serializers.IntegerField(help_text="Conversations with a note mentioning the caller, not seen yet.")


CONVERSATION_RESPONSE_EXAMPLE = OpenApiExample("A conversation", value=CONVERSATION_EXAMPLE, response_only=True)


@extend_schema_view(
    list=extend_schema(
        tags=[TAG],
        summary="List conversations",
        description=(
            "The team's conversations with leads, every episode (open, snoozed and resolved unless `status` says), "
            "newest first (by when they opened), a page at a time (`page`, `page_size` up to 200). "
            "`assignee=me&status=open` is the inbox's Mine, `assignee=none&status=open` its Unassigned. Needs the "
            "permission to read conversations."
        ),
        parameters=[ConversationFilters],
        examples=[CONVERSATION_RESPONSE_EXAMPLE],
    ),
    retrieve=extend_schema(
        tags=[TAG],
        summary="A conversation",
        description="One conversation (an episode) by its id.",
        examples=[CONVERSATION_RESPONSE_EXAMPLE],
    ),
)
class ConversationViewSet(mixins.ListModelMixin, mixins.RetrieveModelMixin, viewsets.GenericViewSet):
    """The conversations, read; they change through a lead's conversation (LeadConversationView)."""

    serializer_class = ConversationSerializer
    permission_classes = [api_permission(READ_CONVERSATIONS)]
    lookup_value_regex = ANY_ID

    def get_queryset(self):
        return Conversation.objects.select_related("lead", "assignee")

    def list(self, request, *args, **kwargs):
        filters = ConversationFilters(data=request.query_params.dict())
        filters.is_valid(raise_exception=True)
        data = filters.validated_data
        assignee = data.get("assignee")
        conversations = conversations_list(
            status=data.get("status", ""),
            assignee_id=request.user.pk if assignee == "me" else assignee if isinstance(assignee, int) else None,
            unassigned=assignee == "none",
            lead_id=data.get("lead"),
            mentioning=request.user,
            mentioned=data.get("mentioned"),
        )
        page = self.paginate_queryset(conversations)
        return self.get_paginated_response(self.get_serializer(page, many=True).data)

    @extend_schema(
        tags=[TAG],
        summary="Count conversations",
        description=(
            "How many open and how many snoozed conversations are the caller's, nobody's and everyone's (the "
            "inbox's Mine, Unassigned and All), and in how many a note mentions the caller unseen. Read from the "
            "current conversations' index, never a scan; resolved ones are not counted (list them with "
            "`status=resolved`)."
        ),
        responses={200: CountsSerializer},
        examples=[
            OpenApiExample(
                "Counts",
                value={
                    "open": {"mine": 4, "unassigned": 2, "all": 11},
                    "snoozed": {"mine": 1, "unassigned": 0, "all": 3},
                    "mentions": 1,
                },
                response_only=True,
            )
        ],
    )
    @action(detail=False, methods=["get"], pagination_class=None)
    def counts(self, request):
        counts = {state: conversation_counts(user=request.user, status=state) for state in CURRENT}
        return Response(CountsSerializer({**counts, "mentions": mentions_unseen_count(user=request.user)}).data)


class ConversationChangeSerializer(rest.Serializer):
    action = serializers.ChoiceField(
        choices=ACTIONS,
        help_text=(
            "`take` (the caller's, if nobody has it), `assign` (to `assignee`), `unassign`, `resolve`, `snooze` "
            "(until `snooze` or `until`), `reopen` (the latest resolved one)."
        ),
    )
    assignee = serializers.IntegerField(
        required=False,
        min_value=1,
        max_value=MAX_USER_ID,
        help_text="For `assign`: the agent's user id (someone who may read conversations).",
    )
    snooze = serializers.ChoiceField(
        choices=list(SNOOZE_PRESETS),
        required=False,
        help_text=(
            "For `snooze`, a preset: `hour` (an hour from now), `evening` (18:00), `tomorrow` (09:00), `week` "
            "(next Monday 09:00), in the site's time zone."
        ),
    )
    until = serializers.DateTimeField(
        required=False,
        help_text="For `snooze`, instead of a preset: when it opens again (ISO 8601; without an offset, site time).",
    )

    def validate(self, data):
        if "snooze" in data and "until" in data:
            raise serializers.ValidationError({"until": [_("Give either snooze or until, not both.")]})
        return data


CHANGE_DESCRIPTION = """Change the lead's conversation as the inbox's controls do (the same service, and every open
page shows the change): `take`, `assign` (with `assignee`), `unassign`, `resolve`, `snooze` (with a preset in
`snooze` or a time in `until`) or `reopen` (the latest resolved one, unless a newer one is open). Answers with the
lead's conversation after the change: its current one, else its latest.

Refusals carry the service's message and code: 409 `taken` when another agent has it (the first of two agents
taking it at once wins); 400 `no_conversation` (none to change: resolved meanwhile, or never begun), `assignee`
(no such agent, or one who may not read conversations), `snooze_until` (no time given), `snooze_past`,
`newer_conversation` (reopening one whose lead has a newer one). Needs the permission to change conversations."""

REFUSAL = {"$ref": "#/components/schemas/Error"}


def _lead_conversation(lead: Lead) -> Conversation | None:
    conversation = lead_latest_conversation(lead_id=lead.pk)
    if conversation is not None:
        conversation.lead = lead
    return conversation


class LeadConversationView(APIView):
    """A lead's conversation: its current one (else its latest), read (GET) or changed (POST)."""

    def get_permissions(self):
        needed = READ_CONVERSATIONS if self.request.method in SAFE_METHODS else CHANGE_CONVERSATION
        return [api_permission(needed)()]

    @extend_schema(
        tags=[TAG],
        summary="A lead's conversation",
        description="The lead's current conversation (open or snoozed), else its latest; 404 when it never had one.",
        responses={200: ConversationSerializer},
        examples=[CONVERSATION_RESPONSE_EXAMPLE],
    )
    def get(self, request, pk):
        lead = get_object_or_404(Lead.objects.only("pk", "name"), pk=pk)
        conversation = _lead_conversation(lead)
        if conversation is None:
            raise ApiError(
                _("The lead has no conversation yet."), code="no_conversation", status_code=status.HTTP_404_NOT_FOUND
            )
        return Response(ConversationSerializer(conversation).data)

    @extend_schema(
        tags=[TAG],
        summary="Change a lead's conversation",
        description=CHANGE_DESCRIPTION,
        request=ConversationChangeSerializer,
        responses={
            200: ConversationSerializer,
            409: OpenApiResponse(REFUSAL, description="Another agent has the conversation (code `taken`)."),
        },
        examples=[
            OpenApiExample("Take", value={"action": "take"}, request_only=True),
            OpenApiExample("Assign", value={"action": "assign", "assignee": 7}, request_only=True),
            OpenApiExample("Snooze until tomorrow morning", value={"action": "snooze", "snooze": "tomorrow"},
                           request_only=True),
            OpenApiExample("Snooze until a time", value={"action": "snooze", "until": "2027-03-04T14:00:00+03:00"},
                           request_only=True),
            CONVERSATION_RESPONSE_EXAMPLE,
            OpenApiExample(
                "Taken by another agent",
                value={"error": {"code": "taken", "message": "Ayşe Yılmaz has this conversation already.",
                                 "fields": {}}},
                response_only=True,
                status_codes=["409"],
            ),
        ],
    )  # fmt: skip
    def post(self, request, pk):
        lead = get_object_or_404(Lead.objects.only("pk", "name"), pk=pk)
        form = ConversationChangeSerializer(data=request.data)
        form.is_valid(raise_exception=True)
        data = form.validated_data
        try:
            conversations_action(
                lead_ids=[lead.pk],
                action=data["action"],
                agent=request.user,
                assignee_id=data.get("assignee", ""),
                snooze=data.get("snooze", ""),
                until=data["until"].isoformat() if "until" in data else "",
            )
        except ConversationRefused as refused:
            conflict = refused.code == "taken"
            raise ApiError(
                refused.message,
                code=refused.code,
                status_code=status.HTTP_409_CONFLICT if conflict else status.HTTP_400_BAD_REQUEST,
            ) from None
        return Response(ConversationSerializer(_lead_conversation(lead)).data)


class NoteSerializer(rest.ModelSerializer):
    lead = serializers.UUIDField(source="lead_id", help_text="The lead's id.")
    author = AgentSerializer(allow_null=True, help_text="Who wrote it; null once their account is gone.")
    mentioned = serializers.SerializerMethodField(help_text="The user ids of the agents it @mentions (told of it).")

    class Meta:
        model = Note
        fields = ["id", "lead", "author", "body", "mentioned", "created_at"]
        read_only_fields = fields
        extra_kwargs = {
            "id": {"help_text": "The note's id."},
            "body": {"help_text": "The text, never sent to the lead; `@username` mentions an agent."},
            "created_at": {"help_text": "When it was written."},
        }

    @extend_schema_field(serializers.ListField(child=serializers.IntegerField()))
    def get_mentioned(self, note) -> list[int]:
        return [mention.user_id for mention in note.mentions.all()]


class NoteInputSerializer(rest.Serializer):
    body = serializers.CharField(
        allow_blank=True,
        help_text=f"The note (at most {Note.MAX_LENGTH} characters); `@username` mentions an agent, who is told.",
    )


class LeadNotesView(GenericAPIView):
    """A lead's private notes: read newest first by cursor (GET), or one added (POST)."""

    serializer_class = NoteSerializer
    pagination_class = KeysetPagination
    queryset = Note.objects.none()  # the schema's model; the rows come from conversations.selectors

    def get_permissions(self):
        needed = READ_CONVERSATIONS if self.request.method in SAFE_METHODS else ADD_NOTE
        return [api_permission(needed)()]

    @extend_schema(
        tags=[TAG],
        summary="A lead's private notes, newest first",
        description=(
            "The team's notes in the lead's thread (never sent to the lead), newest first, `limit` at a time, each "
            "with its author and the agents it mentions. Follow `next` for older ones (`before` the oldest shown) "
            "and `previous` for those written since (`after` the newest shown). A cursor is a note id of this "
            "lead; any other is 400 (`invalid_cursor`). Needs the permission to read conversations."
        ),
        responses={200: NoteSerializer(many=True)},
        examples=[OpenApiExample("A note", value=NOTE_EXAMPLE, response_only=True)],
    )
    def get(self, request, pk):
        lead = get_object_or_404(Lead.objects.only("pk"), pk=pk)
        page = self.paginator.paginate(
            request,
            resolve=lambda key: Note.objects.filter(pk=key, lead=lead).only("pk", "created_at").first(),
            fetch=lambda **cursor: lead_notes_page(lead_id=lead.pk, **cursor),
        )
        return self.get_paginated_response(self.get_serializer(page, many=True).data)

    @extend_schema(
        tags=[TAG],
        summary="Add a private note",
        description=(
            "A note in the lead's thread for the team, never sent. Each agent it names as `@username` (who may read "
            "conversations; not its author) is told at once and finds the conversation under Mentions. Refused "
            "(400) when empty (`empty`) or too long (`too_long`). Honours `Idempotency-Key`. Needs the permission "
            "to add notes."
        ),
        request=NoteInputSerializer,
        responses={201: NoteSerializer},
        examples=[
            OpenApiExample("A note", value={"body": NOTE_EXAMPLE["body"]}, request_only=True),
            OpenApiExample("Added", value=NOTE_EXAMPLE, response_only=True, status_codes=["201"]),
            OpenApiExample(
                "Empty",
                value={"error": {"code": "empty", "message": "Write the note first.", "fields": {}}},
                response_only=True,
                status_codes=["400"],
            ),
        ],
    )
    @idempotent
    def post(self, request, pk):
        lead = get_object_or_404(Lead.objects.only("pk", "name"), pk=pk)
        form = NoteInputSerializer(data=request.data)
        form.is_valid(raise_exception=True)
        try:
            note = note_add(lead=lead, author=request.user, body=form.validated_data["body"])
        except ConversationRefused as refused:
            raise ApiError(refused.message, code=refused.code, fields={"body": [refused.message]}) from None
        note = Note.objects.select_related("author").prefetch_related("mentions").get(pk=note.pk)
        return Response(self.get_serializer(note).data, status=status.HTTP_201_CREATED)


class MentionsSeenSerializer(rest.Serializer):
    lead = serializers.UUIDField(help_text="The lead's id.")
    seen = serializers.IntegerField(help_text="How many of the caller's mentions this request marked seen.")


class LeadMentionsSeenView(APIView):
    """The caller has read the lead's notes: their mentions there are seen, as opening the conversation does."""

    permission_classes = [api_permission(READ_CONVERSATIONS)]

    @extend_schema(
        tags=[TAG],
        summary="Mark the caller's mentions in a lead's notes seen",
        description=(
            "What opening the conversation in the inbox does for its notes: the notes of this lead that mention "
            "the caller are seen (out of their Mentions view and count, on each of their pages). No body."
        ),
        request=None,
        responses={200: MentionsSeenSerializer},
        examples=[OpenApiExample("Seen", value={"lead": LEAD_ID_EXAMPLE, "seen": 2}, response_only=True)],
    )
    def post(self, request, pk):
        lead = get_object_or_404(Lead.objects.only("pk"), pk=pk)
        return Response({"lead": lead.pk, "seen": mentions_seen(lead_id=lead.pk, user=request.user)})


routes = [("conversations", ConversationViewSet, "conversation")]

urlpatterns = [  # under /api/v1/, through happycrm.api_urls
    path("agents", AgentsView.as_view(), name="agents"),
    path("leads/<uuid:pk>/conversation", LeadConversationView.as_view(), name="lead-conversation"),
    path("leads/<uuid:pk>/notes", LeadNotesView.as_view(), name="lead-notes"),
    path("leads/<uuid:pk>/mentions/seen", LeadMentionsSeenView.as_view(), name="lead-mentions-seen"),
]
