"""The auditors' queue and the audit administrator's log over HTTP."""

from django.db import transaction
from drf_spectacular.utils import OpenApiParameter, extend_schema
from rest_framework import serializers
from rest_framework.response import Response
from rest_framework.views import APIView

from audit import selectors as audit_selectors
from audit import services as audit_services
from audit.models import Finding
from inspection import selectors, services
from langzhong_si.dates import date_parse
from langzhong_si.text import COMMENT_MAX_LENGTH
from scans.scoping import ScopeWritable
from staff.api_access import role_permission
from staff.roles import Role


class FindingOutput(serializers.Serializer):
    id = serializers.IntegerField(source="pk")
    rule = serializers.CharField()
    rule_label = serializers.CharField()
    severity = serializers.CharField()
    case_number = serializers.CharField(source="case.number", allow_null=True, default=None)
    created_at = serializers.DateTimeField()
    result = serializers.CharField()
    error_kind = serializers.CharField()
    comment = serializers.CharField()


class InspectionInput(serializers.Serializer):
    result = serializers.ChoiceField(
        choices=[Finding.Result.NO_ISSUE, Finding.Result.ERROR, Finding.Result.IRREGULARITY]
    )
    error_kind = serializers.CharField(required=False, allow_blank=True, max_length=64, default="")
    comment = serializers.CharField(
        required=False, allow_blank=True, max_length=COMMENT_MAX_LENGTH, default=""
    )


class AuditEventOutput(serializers.Serializer):
    key = serializers.IntegerField(source="pk")
    # Null while the event waits for the sequencer to chain it.
    position = serializers.IntegerField(allow_null=True)
    occurred_at = serializers.DateTimeField()
    actor = serializers.IntegerField(source="actor_id", allow_null=True)
    event_type = serializers.CharField()
    event_label = serializers.CharField()
    object_type = serializers.CharField()
    object_id = serializers.CharField()
    outcome = serializers.CharField()
    source_ip = serializers.CharField(allow_null=True)
    request_id = serializers.CharField()
    hash = serializers.CharField(allow_null=True)


class FindingListApi(APIView):
    """The findings of the auditor's agency (every agency's, for the city viewer)."""

    permission_classes = [role_permission(Role.AUDITOR, Role.CITY_VIEWER)]

    @extend_schema(responses={200: FindingOutput(many=True)})
    def get(self, request):
        return Response(FindingOutput(selectors.finding_queue(user=request.user), many=True).data)


class FindingInspectionApi(APIView):
    # The read-only refusal first: a city viewer is told why, not just "not allowed".
    permission_classes = [ScopeWritable, role_permission(Role.AUDITOR)]

    @extend_schema(request=InspectionInput, responses={200: FindingOutput})
    def post(self, request, finding_id: int):
        selectors.finding_detail(user=request.user, finding_id=finding_id)
        data = InspectionInput(data=request.data)
        data.is_valid(raise_exception=True)
        finding = services.finding_inspect(
            finding_id=finding_id, auditor=request.user, **data.validated_data
        )
        return Response(FindingOutput(finding).data)


class AuditLogApi(APIView):
    """The audit administrator reads the log, newest first, 100 at a time."""

    permission_classes = [role_permission(Role.AUDIT_ADMINISTRATOR)]

    @extend_schema(
        parameters=[
            OpenApiParameter("type", str, description="Event kind, or a prefix such as auth."),
            OpenApiParameter("person", str, description="Username or name: actor or target"),
            OpenApiParameter("from", str, description="First day, YYYY-MM-DD"),
            OpenApiParameter("to", str, description="Last day, YYYY-MM-DD"),
            OpenApiParameter("before", int, description="Only events before this key"),
        ],
        responses={200: AuditEventOutput(many=True)},
    )
    def get(self, request):
        try:
            before = int(request.query_params.get("before") or 0) or None
        except ValueError:
            before = None
        event_type = request.query_params.get("type", "")[:64]
        person = request.query_params.get("person", "").strip()[:150]
        since, until = (
            date_parse(value) if (value := request.query_params.get(key, "").strip()) else None
            for key in ("from", "to")
        )  # a bad date is a 400 (ValidationError)
        events = audit_selectors.audit_log_page(
            event_type=event_type, before=before, person=person, since=since, until=until
        )
        with transaction.atomic():
            audit_services.audit_event_record(
                event_type="audit.log_read",
                actor=request.user,
                data={
                    "type": event_type,
                    "person": person,
                    "from": since,
                    "to": until,
                    "before": before,
                    "api": True,
                },
            )
        return Response(AuditEventOutput(events, many=True).data)
