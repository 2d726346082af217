"""The kiosk's appointment check-in over HTTP (device token), for the device bridge's
ID-card swipe: the same service and checks as the kiosk's screen."""

from drf_spectacular.utils import extend_schema
from rest_framework import serializers
from rest_framework.response import Response
from rest_framework.views import APIView

from appointments import services
from appointments.models import BOOKING_CODE_LENGTH, Appointment
from counters import selectors as counter_selectors
from devices.api_access import (
    HallDeviceAuthentication,
    HallDeviceRateThrottle,
    device_permission,
)
from devices.models import HallDevice
from front.api import IssuedTicketOutput
from langzhong_si.identity import ID_NUMBER_INPUT_MAX_LENGTH


class CheckInInput(serializers.Serializer):
    code = serializers.RegexField(
        r"^\d{8}$", required=False, allow_blank=True, max_length=BOOKING_CODE_LENGTH, default=""
    )
    id_number = serializers.CharField(
        required=False, allow_blank=True, max_length=ID_NUMBER_INPUT_MAX_LENGTH, default=""
    )


class CheckInOutput(serializers.Serializer):
    status = serializers.ChoiceField(
        choices=Appointment.Status.choices,
        help_text="checked_in: called before walk-ins from the slot's start; "
        "checked_in_late: a walk-in's ticket.",
    )
    slot_start = serializers.DateTimeField()
    ticket = IssuedTicketOutput()


class KioskCheckInApi(APIView):
    """Check today's appointment in by its booking code or the ID number (read from the
    card) and issue its ticket. No appointment: 400 `no_appointment`; cancelled, missed
    or already checked in: 409."""

    authentication_classes = [HallDeviceAuthentication]
    permission_classes = [device_permission(HallDevice.Kind.KIOSK)]
    throttle_classes = [HallDeviceRateThrottle]
    throttle_scope = "device"

    @extend_schema(request=CheckInInput, responses={201: CheckInOutput})
    def post(self, request):
        serializer = CheckInInput(data=request.data)
        serializer.is_valid(raise_exception=True)
        data = serializer.validated_data
        appointment = services.appointment_check_in(
            code=data["code"], id_number=data["id_number"], kiosk=request.auth
        )
        ticket = appointment.ticket
        ticket.ahead = counter_selectors.tickets_ahead(ticket)
        return Response(
            CheckInOutput(
                {
                    "status": appointment.status,
                    "slot_start": appointment.slot_start,
                    "ticket": ticket,
                }
            ).data,
            status=201,
        )
