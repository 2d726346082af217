"""好差评 over HTTP: a window's rating pad (its device credential), the citizen's rating
from the ticket page's token, and the team lead's follow-ups. Each operation calls the
same service as its screen, with the same checks."""

from django.urls import path
from drf_spectacular.utils import extend_schema
from rest_framework import serializers
from rest_framework.permissions import AllowAny
from rest_framework.response import Response
from rest_framework.views import APIView

from counters import selectors as counter_selectors
from devices.api_access import (
    HallDeviceAuthentication,
    HallDeviceRateThrottle,
    device_permission,
)
from devices.models import HallDevice
from front.api import TicketOutput
from langzhong_si.text import COMMENT_MAX_LENGTH, RATING_REASON_MAX_LENGTH
from ratings import selectors, services
from ratings.models import Rating
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


def _loop_step(request, service, input_class, output_class, *, status=200, **known):
    """One step of the follow-up loop: the input checked (its fields named as the
    service's keywords), the service called with it and what the URL and the caller
    give (`known`), the record it returns answered."""
    data = _valid(input_class, request.data)
    return Response(output_class(service(**known, **data)).data, status=status)


class PadRatingInput(RatingInput):
    ticket = serializers.IntegerField(
        min_value=1, help_text="The service shown by GET: the window's one just finished."
    )


class RatingPadApi(APIView):
    """A window's rating pad (its device credential): the service just finished at its
    window, rated once within RATING_PAD_MINUTES."""

    authentication_classes = [HallDeviceAuthentication]
    permission_classes = [device_permission(HallDevice.Kind.PAD)]
    throttle_classes = [HallDeviceRateThrottle]
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
    """The follow-ups awaiting a reply at the lead's sites (their agency)."""

    permission_classes = [role_permission(Role.TEAM_LEAD)]

    @extend_schema(responses={200: FollowUpOutput(many=True)})
    def get(self, request):
        follow_ups = selectors.open_follow_ups(request.user)
        return Response(FollowUpOutput(follow_ups, many=True).data)


class FollowUpApi(APIView):
    """Record the callback (回访核实) and, later, the rectification and reply (整改答复)."""

    permission_classes = [role_permission(Role.TEAM_LEAD)]

    @extend_schema(request=FollowUpInput, responses={200: FollowUpOutput})
    def post(self, request, follow_up_id: int):
        return _loop_step(
            request,
            services.follow_up_record,
            FollowUpInput,
            FollowUpOutput,
            follow_up_id=follow_up_id,
            lead=request.user,
        )


class FollowUpAssignInput(serializers.Serializer):
    assignee = serializers.IntegerField(min_value=1, source="assignee_id")


class FollowUpAssignApi(APIView):
    """The team lead gives a follow-up to a team lead or window lead of the agency."""

    permission_classes = [role_permission(Role.TEAM_LEAD)]

    @extend_schema(request=FollowUpAssignInput, responses={200: FollowUpOutput})
    def post(self, request, follow_up_id: int):
        return _loop_step(
            request,
            services.follow_up_assign,
            FollowUpAssignInput,
            FollowUpOutput,
            follow_up_id=follow_up_id,
            lead=request.user,
        )


class FollowUpReviewInput(serializers.Serializer):
    accept = serializers.BooleanField()
    note = serializers.CharField(
        required=False, allow_blank=True, max_length=COMMENT_MAX_LENGTH, default=""
    )


class FollowUpReviewOutput(FollowUpOutput):
    status = serializers.CharField()
    review_note = serializers.CharField()


class FollowUpReviewApi(APIView):
    """The review of a bad rating's handling: accepted (closed) or returned for more
    rectification with what is still to be done."""

    permission_classes = [role_permission(Role.TEAM_LEAD)]

    @extend_schema(request=FollowUpReviewInput, responses={200: FollowUpReviewOutput})
    def post(self, request, follow_up_id: int):
        return _loop_step(
            request,
            services.follow_up_review,
            FollowUpReviewInput,
            FollowUpReviewOutput,
            follow_up_id=follow_up_id,
            lead=request.user,
        )


class AppealInput(serializers.Serializer):
    statement = serializers.CharField(max_length=COMMENT_MAX_LENGTH)


class AppealOutput(serializers.Serializer):
    id = serializers.IntegerField(source="pk")
    kind = serializers.CharField()
    status = serializers.CharField()
    statement = serializers.CharField()
    filed_at = serializers.DateTimeField()
    decided_at = serializers.DateTimeField(allow_null=True)
    decision_reason = serializers.CharField()


class HandlingAppealApi(APIView):
    """申诉: the citizen appeals the handling of their bad rating, from the ticket's token,
    once, within HANDLING_APPEAL_DAYS working days of the reply."""

    authentication_classes = []
    permission_classes = [AllowAny]
    throttle_scope = "progress"

    @extend_schema(request=AppealInput, responses={201: AppealOutput})
    def post(self, request, token: str, follow_up_id: int):
        ticket = counter_selectors.ticket_for_citizen(token)
        return _loop_step(
            request,
            services.handling_appeal_file,
            AppealInput,
            AppealOutput,
            status=201,
            ticket_id=ticket.pk,
            follow_up_id=follow_up_id,
        )


class RatingAppealApi(APIView):
    """The rated clerk appeals a bad rating they consider unjust."""

    permission_classes = [role_permission(Role.CLERK)]

    @extend_schema(request=AppealInput, responses={201: AppealOutput})
    def post(self, request, follow_up_id: int):
        return _loop_step(
            request,
            services.rating_appeal_file,
            AppealInput,
            AppealOutput,
            status=201,
            follow_up_id=follow_up_id,
            clerk=request.user,
        )


class AppealListApi(APIView):
    """The appeals the caller may decide (pending, at their agency, none they are in)."""

    permission_classes = [role_permission(Role.TEAM_LEAD, Role.AUDITOR)]

    @extend_schema(responses={200: AppealOutput(many=True)})
    def get(self, request):
        return Response(AppealOutput(selectors.pending_appeals_for(request.user), many=True).data)


class AppealDecisionInput(serializers.Serializer):
    uphold = serializers.BooleanField()
    reason = serializers.CharField(max_length=COMMENT_MAX_LENGTH)


class AppealDecisionApi(APIView):
    permission_classes = [role_permission(Role.TEAM_LEAD, Role.AUDITOR)]

    @extend_schema(request=AppealDecisionInput, responses={200: AppealOutput})
    def post(self, request, appeal_id: int):
        return _loop_step(
            request,
            services.appeal_decide,
            AppealDecisionInput,
            AppealOutput,
            appeal_id=appeal_id,
            decider=request.user,
        )


# The loop's operations, included by the API's URLs (langzhong_si.api_urls).
LOOP_URLS = [
    path(
        "tickets/<str:token>/follow-ups/<int:follow_up_id>/appeal/",
        HandlingAppealApi.as_view(),
        name="api-handling-appeal",
    ),
    path(
        "lead/follow-ups/<int:follow_up_id>/assign/",
        FollowUpAssignApi.as_view(),
        name="api-follow-up-assign",
    ),
    path(
        "lead/follow-ups/<int:follow_up_id>/review/",
        FollowUpReviewApi.as_view(),
        name="api-follow-up-review",
    ),
    path("lead/appeals/", AppealListApi.as_view(), name="api-appeals"),
    path(
        "lead/appeals/<int:appeal_id>/decision/",
        AppealDecisionApi.as_view(),
        name="api-appeal-decision",
    ),
    path(
        "counter/my-ratings/<int:follow_up_id>/appeal/",
        RatingAppealApi.as_view(),
        name="api-rating-appeal",
    ),
]
