"""The hall over HTTP: kiosks and call displays (device tokens), the citizen's ticket, the
clerk's workbench and the window lead's queue. Each operation calls the same service as its
screen, with the same checks. The case file's operations (intake, cases, progress) are in
cases.api; ratings, the rating pad and follow-ups in ratings.api."""

from drf_spectacular.utils import extend_schema
from rest_framework import serializers
from rest_framework.permissions import AllowAny
from rest_framework.response import Response
from rest_framework.views import APIView

from catalog.selectors import item_enabled
from counters import selectors, services
from counters.models import Case, Queue, Ticket, Window
from devices.api_access import (
    HallDeviceAuthentication,
    HallDeviceRateThrottle,
    device_permission,
)
from devices.models import HallDevice
from langzhong_si.api import OutputSerializer, StrictBooleanField
from langzhong_si.identity import ID_NUMBER_INPUT_MAX_LENGTH
from langzhong_si.text import (
    PAUSE_REASON_MAX_LENGTH,
    REASON_MAX_LENGTH,
)
from langzhong_si.versions import TICKETS, poll_etag, poll_not_modified, user_key
from staff.api_access import role_permission
from staff.roles import Role

IsClerk = role_permission(Role.CLERK)


# --- Serializers -------------------------------------------------------------------------


class TicketOutput(OutputSerializer):
    id = serializers.IntegerField(source="pk")
    number = serializers.CharField(source="display_number")
    site = serializers.IntegerField(source="site_id", help_text="The site it was issued at.")
    queue = serializers.ChoiceField(choices=Queue.choices)
    item = serializers.CharField(source="item.name", allow_null=True, default=None)
    is_consultation = serializers.BooleanField()
    is_priority = serializers.BooleanField()
    priority_reason = serializers.CharField()
    status = serializers.ChoiceField(choices=Ticket.Status.choices)
    issued_at = serializers.DateTimeField()
    called_at = serializers.DateTimeField(allow_null=True)
    window = serializers.IntegerField(source="window.number", allow_null=True, default=None)


class IssuedTicketOutput(TicketOutput):
    ahead = serializers.IntegerField(help_text="Tickets the dispatch serves before this one.")
    page_token = serializers.CharField(
        source="public_token", help_text="Opens /t/<token>/: the citizen's ticket page."
    )


class TicketInput(serializers.Serializer):
    item = serializers.IntegerField(required=False, allow_null=True, min_value=1, default=None)
    consultation = StrictBooleanField(required=False, default=False)
    id_number = serializers.CharField(
        required=False, allow_blank=True, max_length=ID_NUMBER_INPUT_MAX_LENGTH, default=""
    )
    priority_request = serializers.ChoiceField(
        choices=["", Ticket.PriorityReason.DISABLED, Ticket.PriorityReason.VETERAN],
        required=False,
        default="",
    )


class CallOutput(OutputSerializer):
    number = serializers.CharField(source="display_number")
    window = serializers.IntegerField(source="window.number")
    called_at = serializers.DateTimeField()


class DisplayOutput(OutputSerializer):
    calls = CallOutput(many=True)
    waiting = serializers.DictField(child=serializers.IntegerField())


class ProgressOutput(OutputSerializer):
    number = serializers.CharField(source="case.number")
    item = serializers.CharField(source="case.item.name")
    status = serializers.ChoiceField(source="case.status", choices=Case.Status.choices)
    status_label = serializers.CharField(source="case.get_status_display")
    accepted_at = serializers.DateTimeField(source="case.accepted_at")
    due_date = serializers.DateField(source="case.due_date")
    finished_at = serializers.DateTimeField(source="case.finished_at", allow_null=True)
    applicant = serializers.CharField(source="masked_name")
    missing = serializers.ListField(child=serializers.CharField())
    rejection = serializers.CharField()


class WindowOutput(OutputSerializer):
    number = serializers.IntegerField()
    zone = serializers.CharField()
    queue = serializers.ChoiceField(choices=Queue.choices)
    state = serializers.ChoiceField(choices=Window.State.choices)
    state_since = serializers.DateTimeField(allow_null=True)
    pause_reason = serializers.CharField()
    current_ticket = TicketOutput(allow_null=True)


class WorkbenchOutput(OutputSerializer):
    window = WindowOutput(allow_null=True)
    free_windows = serializers.ListField(child=serializers.IntegerField())


class SignOnInput(serializers.Serializer):
    window = serializers.IntegerField(min_value=1, help_text="The window's number.")
    site = serializers.IntegerField(
        min_value=1,
        required=False,
        default=None,
        help_text="The window's site (needed only by a clerk working at several sites).",
    )


class PauseInput(serializers.Serializer):
    reason = serializers.CharField(max_length=PAUSE_REASON_MAX_LENGTH)


class ReasonInput(serializers.Serializer):
    reason = serializers.CharField(max_length=REASON_MAX_LENGTH)


class LeadQueueOutput(OutputSerializer):
    pending_priority = TicketOutput(many=True)
    no_shows = TicketOutput(many=True)
    flagged = TicketOutput(many=True)


def _valid(serializer_class, data):
    serializer = serializer_class(data=data)
    serializer.is_valid(raise_exception=True)
    return serializer.validated_data


# --- Kiosk, call display, citizen ----------------------------------------------------------


class KioskTicketApi(APIView):
    """A kiosk issues a ticket (its device token, no staff login)."""

    authentication_classes = [HallDeviceAuthentication]
    permission_classes = [device_permission(HallDevice.Kind.KIOSK)]
    throttle_classes = [HallDeviceRateThrottle]
    throttle_scope = "device"

    @extend_schema(request=TicketInput, responses={201: IssuedTicketOutput})
    def post(self, request):
        data = _valid(TicketInput, request.data)
        item = None
        if data["item"] is not None:
            item = item_enabled(data["item"])
        ticket = services.ticket_issue(
            item=item,
            is_consultation=data["consultation"] and item is None,
            id_number=data["id_number"],
            priority_request=data["priority_request"],
            kiosk=request.auth,
        )
        ticket.ahead = selectors.tickets_ahead(ticket)
        return Response(IssuedTicketOutput(ticket).data, status=201)


class CallDisplayApi(APIView):
    """What the hall's call display shows: the latest calls and the queues' lengths."""

    authentication_classes = [HallDeviceAuthentication]
    permission_classes = [device_permission(HallDevice.Kind.DISPLAY)]
    throttle_classes = [HallDeviceRateThrottle]
    throttle_scope = "device"

    def poll_key(self, request) -> str:
        """The version behind this poll's ETag (also read by operations.pollpath)."""
        return TICKETS

    @extend_schema(responses={200: DisplayOutput, 304: None})
    def get(self, request):
        etag, unchanged = poll_etag(request, self.poll_key(request))
        if unchanged:  # nothing was issued, called or finished since the last answer
            return poll_not_modified(etag)
        site_id = request.auth.site_id  # the display's own site, never another's calls
        response = Response(
            DisplayOutput(
                {
                    "calls": list(selectors.recent_calls(site_id=site_id)),
                    "waiting": selectors.waiting_counts(site_id=site_id),
                }
            ).data
        )
        response["ETag"] = etag
        return response


class CitizenTicketOutput(IssuedTicketOutput):
    cases = ProgressOutput(many=True, source="cases_progress")


def _citizen_ticket(token: str) -> Ticket:
    ticket = selectors.ticket_for_citizen(token)
    ticket.ahead = selectors.tickets_ahead(ticket)
    ticket.cases_progress = [selectors.case_public_progress(case) for case in ticket.cases.all()]
    return ticket


class CitizenTicketApi(APIView):
    """What the slip's QR code opens, for a mobile page: the ticket's place in the queue
    and its cases (the token in the path is the credential)."""

    authentication_classes = []
    permission_classes = [AllowAny]
    throttle_scope = "progress"

    @extend_schema(responses={200: CitizenTicketOutput})
    def get(self, request, token: str):
        return Response(CitizenTicketOutput(_citizen_ticket(token)).data)


class CitizenTicketCancelApi(APIView):
    """The citizen gives up the ticket (counted against fishing for another clerk)."""

    authentication_classes = []
    permission_classes = [AllowAny]
    throttle_scope = "progress"

    @extend_schema(request=None, responses={200: TicketOutput})
    def post(self, request, token: str):
        return Response(TicketOutput(services.ticket_cancel(public_token=token)).data)


# --- The clerk's workbench ------------------------------------------------------------------


def _workbench(clerk) -> dict:
    window = selectors.window_of(clerk)
    if window is not None:
        return {"window": window, "free_windows": []}
    free = selectors.windows_for_sign_on(clerk).filter(clerk__isnull=True)
    return {"window": None, "free_windows": list(free.values_list("number", flat=True))}


class WorkbenchApi(APIView):
    """The clerk's window: its state and the ticket being served."""

    permission_classes = [IsClerk]

    def poll_key(self, request) -> str:
        """The version behind this poll's ETag (also read by operations.pollpath)."""
        return user_key(request.user.pk)

    @extend_schema(responses={200: WorkbenchOutput, 304: None})
    def get(self, request):
        etag, unchanged = poll_etag(request, self.poll_key(request))
        if unchanged:  # the clerk's window did not change since the last answer
            return poll_not_modified(etag)
        workbench = _workbench(request.user)
        response = Response(WorkbenchOutput(workbench).data)
        if workbench["window"] is not None:
            # Without a window the answer lists the free ones, which other clerks change.
            response["ETag"] = etag
        return response


class _ClerkActionApi(APIView):
    permission_classes = [IsClerk]
    service = None

    @extend_schema(request=None, responses={200: WorkbenchOutput})
    def post(self, request):
        type(self).service(clerk=request.user)
        return Response(WorkbenchOutput(_workbench(request.user)).data)


class SignOffApi(_ClerkActionApi):
    service = services.window_sign_off


class ReadyApi(_ClerkActionApi):
    """Ready for the next ticket: the dispatch (not the clerk) decides which one comes."""

    service = services.window_declare_ready


class RecallApi(_ClerkActionApi):
    service = services.ticket_recall


class NoShowApi(_ClerkActionApi):
    service = services.ticket_no_show


class FinishApi(_ClerkActionApi):
    service = services.ticket_finish


class SignOnApi(APIView):
    permission_classes = [IsClerk]

    @extend_schema(request=SignOnInput, responses={200: WorkbenchOutput})
    def post(self, request):
        data = _valid(SignOnInput, request.data)
        window = selectors.window_for_sign_on(
            request.user, number=data["window"], site_id=data["site"]
        )
        services.window_sign_on(clerk=request.user, window_id=window.pk)
        return Response(WorkbenchOutput(_workbench(request.user)).data)


class PauseApi(APIView):
    permission_classes = [IsClerk]

    @extend_schema(request=PauseInput, responses={200: WorkbenchOutput})
    def post(self, request):
        data = _valid(PauseInput, request.data)
        services.window_pause(clerk=request.user, reason=data["reason"])
        return Response(WorkbenchOutput(_workbench(request.user)).data)


# --- Window lead ----------------------------------------------------------------------------


class LeadQueueApi(APIView):
    """Today's tickets a lead acts on, of the sites the caller sees (read-only for the
    city viewer)."""

    permission_classes = [role_permission(Role.WINDOW_LEAD, Role.CITY_VIEWER)]

    @extend_schema(responses={200: LeadQueueOutput})
    def get(self, request):
        return Response(LeadQueueOutput(selectors.lead_queue_today(request.user)).data)


class PriorityConfirmApi(APIView):
    permission_classes = [role_permission(Role.WINDOW_LEAD)]

    @extend_schema(request=None, responses={200: TicketOutput})
    def post(self, request, ticket_id: int):
        ticket = services.ticket_priority_confirm(ticket_id=ticket_id, lead=request.user)
        return Response(TicketOutput(ticket).data)


class RequeueApi(APIView):
    permission_classes = [role_permission(Role.WINDOW_LEAD)]

    @extend_schema(request=ReasonInput, responses={200: TicketOutput})
    def post(self, request, ticket_id: int):
        data = _valid(ReasonInput, request.data)
        ticket = services.ticket_requeue(
            ticket_id=ticket_id, lead=request.user, reason=data["reason"]
        )
        return Response(TicketOutput(ticket).data)
