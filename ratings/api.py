"""好差评 over HTTP: a window's rating pad (its device credential), the citizen's rating
from the ticket page's token, and the team lead's follow-ups. Each operation calls the
same service as its screen, with the same checks."""

from django.shortcuts import get_object_or_404
from drf_spectacular.utils import extend_schema
from rest_framework import serializers
from rest_framework.permissions import AllowAny
from rest_framework.response import Response
from rest_framework.views import APIView

from counters import selectors as counter_selectors
from devices.api_access import HallDeviceAuthentication, device_permission
from devices.models import HallDevice
from front.api import TicketOutput
from langzhong_si.text import COMMENT_MAX_LENGTH, RATING_REASON_MAX_LENGTH
from ratings import selectors, services
from ratings.models import FollowUp, Rating
from staff.api_access import role_permission
from staff.roles import Role


class RatingInput(serializers.Serializer):
    level = serializers.ChoiceField(choices=Rating.Level.choices)
    reason = serializers.CharField(
        required=False, allow_blank=True, max_length=RATING_REASON_MAX_LENGTH, default=""
    )


class RatingOutput(serializers.Serializer):
    id = serializers.IntegerField(source="pk")
    ticket = serializers.CharField(source="ticket.display_number")
    sequence = serializers.IntegerField()
    level = serializers.IntegerField()
    created_at = serializers.DateTimeField()


class FollowUpOutput(serializers.Serializer):
    id = serializers.IntegerField(source="pk")
    ticket = serializers.CharField(source="rating.ticket.display_number")
    window = serializers.IntegerField(source="rating.window.number")
    level = serializers.IntegerField(source="rating.level")
    reason = serializers.CharField(source="rating.reason")
    callback_due = serializers.DateField()
    reply_due = serializers.DateField()
    callback_at = serializers.DateTimeField(allow_null=True)
    replied_at = serializers.DateTimeField(allow_null=True)


class FollowUpInput(serializers.Serializer):
    callback_note = serializers.CharField(
        required=False, allow_blank=True, max_length=COMMENT_MAX_LENGTH, default=""
    )
    reply = serializers.CharField(
        required=False, allow_blank=True, max_length=COMMENT_MAX_LENGTH, default=""
    )


def _valid(serializer_class, data):
    serializer = serializer_class(data=data)
    serializer.is_valid(raise_exception=True)
    return serializer.validated_data


class PadRatingInput(RatingInput):
    ticket = serializers.IntegerField(
        min_value=1, help_text="The service shown by GET: the window's one just finished."
    )


class RatingPadApi(APIView):
    """A window's rating pad (its device credential): the service just finished at its
    window, rated once within RATING_PAD_MINUTES."""

    authentication_classes = [HallDeviceAuthentication]
    permission_classes = [device_permission(HallDevice.Kind.PAD)]
    throttle_scope = "device"

    @extend_schema(responses={200: TicketOutput, 204: None})
    def get(self, request):
        ticket = selectors.ticket_awaiting_pad_rating(request.auth.window)
        return Response(TicketOutput(ticket).data) if ticket else Response(status=204)

    @extend_schema(request=PadRatingInput, responses={201: RatingOutput})
    def post(self, request):
        data = _valid(PadRatingInput, request.data)
        rating = services.rating_pad_submit(
            pad=request.auth, ticket_id=data["ticket"], level=data["level"], reason=data["reason"]
        )
        return Response(RatingOutput(rating).data, status=201)


class CitizenRatingApi(APIView):
    """The citizen's rating of a finished service, or the one later addition."""

    authentication_classes = []
    permission_classes = [AllowAny]
    throttle_scope = "progress"

    @extend_schema(request=RatingInput, responses={201: RatingOutput})
    def post(self, request, token: str):
        ticket = counter_selectors.ticket_for_citizen(token)
        data = _valid(RatingInput, request.data)
        rating = services.rating_submit(
            ticket_id=ticket.pk, level=data["level"], reason=data["reason"]
        )
        return Response(RatingOutput(rating).data, status=201)


class FollowUpListApi(APIView):
    permission_classes = [role_permission(Role.TEAM_LEAD)]

    @extend_schema(responses={200: FollowUpOutput(many=True)})
    def get(self, request):
        return Response(FollowUpOutput(selectors.open_follow_ups(), many=True).data)


class FollowUpApi(APIView):
    permission_classes = [role_permission(Role.TEAM_LEAD)]

    @extend_schema(request=FollowUpInput, responses={200: FollowUpOutput})
    def post(self, request, follow_up_id: int):
        get_object_or_404(FollowUp, pk=follow_up_id)
        data = _valid(FollowUpInput, request.data)
        follow_up = services.follow_up_record(
            follow_up_id=follow_up_id,
            lead=request.user,
            callback_note=data["callback_note"],
            reply=data["reply"],
        )
        return Response(FollowUpOutput(follow_up).data)
