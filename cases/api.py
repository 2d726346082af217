"""The case file over HTTP (the clerk's intake, cases, promised materials, resubmission and
the full ID number; the citizen's progress look-up): the same selectors and services as the
screens, the same checks. (The inbox's API is inbox.api.)"""

from django.conf import settings
from django.core.exceptions import ValidationError
from django.shortcuts import get_object_or_404
from django.utils.translation import gettext as _
from drf_spectacular.utils import OpenApiParameter, extend_schema
from rest_framework import serializers
from rest_framework.exceptions import Throttled
from rest_framework.permissions import AllowAny
from rest_framework.response import Response
from rest_framework.views import APIView

from cases import selectors as case_selectors
from cases import services
from counters import selectors as counter_selectors
from counters.models import Case
from front.api import ProgressOutput, ReasonInput
from langzhong_si.api import OutputSerializer, StrictBooleanField
from langzhong_si.clientip import client_ip
from langzhong_si.identity import (
    CREDIT_CODE_INPUT_MAX_LENGTH,
    ID_NUMBER_INPUT_MAX_LENGTH,
    PHONE_INPUT_MAX_LENGTH,
)
from langzhong_si.text import NAME_MAX_LENGTH
from scans import services as scan_services
from scans.scoping import ScopeWritable, cases_in_scope
from staff.api_access import role_permission
from staff.roles import Role

IsClerk = role_permission(Role.CLERK)
# Writes: a clerk whose view is not read-only (a city-level viewer changes nothing).
IsWritingClerk = [ScopeWritable, IsClerk]


def _valid(serializer_class, data):
    serializer = serializer_class(data=data)
    serializer.is_valid(raise_exception=True)
    return serializer.validated_data


class ChecklistRowOutput(OutputSerializer):
    material_id = serializers.IntegerField()
    name = serializers.CharField()
    required = serializers.BooleanField()
    is_key = serializers.BooleanField()
    received = serializers.BooleanField()


class CaseOutput(OutputSerializer):
    id = serializers.IntegerField(source="pk")
    number = serializers.CharField()
    item_code = serializers.CharField(source="item.code")
    item = serializers.CharField(source="item.name")
    risk_level = serializers.IntegerField()
    status = serializers.ChoiceField(choices=Case.Status.choices)
    status_label = serializers.CharField(source="get_status_display")
    applicant_name = serializers.CharField()
    applicant_id_masked = serializers.CharField()
    applicant_kind = serializers.ChoiceField(choices=Case.ApplicantKind.choices)
    employer_name = serializers.CharField()
    employer_credit_code = serializers.CharField()
    agent_name = serializers.CharField()
    agent_id_masked = serializers.CharField()
    accepted_at = serializers.DateTimeField()
    due_date = serializers.DateField()
    deferred_due = serializers.DateField(allow_null=True)
    finished_at = serializers.DateTimeField(allow_null=True)
    checklist = ChecklistRowOutput(many=True)


class CaseDetailOutput(CaseOutput):
    awaiting_qualified = serializers.BooleanField(
        help_text="The current step's draw found nobody eligible; the team lead was alerted."
    )
    drawing = serializers.BooleanField(
        help_text="The current step's draw is on its way (a step opened by the release "
        "before, which drew through the outbox; a step opened now is drawn as it opens)."
    )
    return_reasons = serializers.ListField(child=serializers.CharField())
    rejection = serializers.CharField(help_text="The reason given for a rejection, or empty.")


class EmployerInput(serializers.Serializer):
    credit_code = serializers.CharField(
        max_length=CREDIT_CODE_INPUT_MAX_LENGTH, help_text="统一社会信用代码 (GB 32100-2015)"
    )
    name = serializers.CharField(max_length=128)


class AgentInput(serializers.Serializer):
    name = serializers.CharField(max_length=NAME_MAX_LENGTH)
    id_number = serializers.CharField(max_length=ID_NUMBER_INPUT_MAX_LENGTH)
    relation = serializers.ChoiceField(choices=Case.AgentRelation.choices)


class IntakeInput(serializers.Serializer):
    item = serializers.IntegerField(min_value=1)
    applicant_name = serializers.CharField(max_length=NAME_MAX_LENGTH)
    id_number = serializers.CharField(max_length=ID_NUMBER_INPUT_MAX_LENGTH)
    applicant_phone = serializers.CharField(
        required=False, allow_blank=True, max_length=PHONE_INPUT_MAX_LENGTH, default=""
    )
    received_material_ids = serializers.ListField(
        child=serializers.IntegerField(min_value=1), required=False, default=list, max_length=100
    )
    defer_missing = StrictBooleanField(required=False, default=False)
    intake_token = serializers.RegexField(
        r"^[A-Za-z0-9_-]{16,64}$",
        required=False,
        default="",
        help_text="A one-time token per intake: the same token again answers 409 "
        "(code intake_repeated) instead of opening a second case.",
    )
    employer = EmployerInput(
        required=False,
        allow_null=True,
        default=None,
        help_text="The applicant is this employer (单位); applicant_name and id_number are "
        "then its handling person's (单位经办人).",
    )
    agent = AgentInput(required=False, allow_null=True, default=None, help_text="代办人")
    authorisation_received = StrictBooleanField(
        required=False, default=False, help_text="授权委托书 received (required with an agent)"
    )
    assisting_staff = serializers.IntegerField(
        min_value=1, required=False, allow_null=True, default=None, help_text="帮办代办: user id"
    )


class SupplyInput(serializers.Serializer):
    material_ids = serializers.ListField(
        child=serializers.IntegerField(min_value=1), allow_empty=False, max_length=100
    )


class RevealOutput(OutputSerializer):
    id_number = serializers.CharField()


class CaseProgressApi(APIView):
    """The citizen's progress look-up (mobile status page): case number plus the last
    four characters of the applicant's ID number. Failed look-ups are limited per case
    number and per client (429); successful ones never count."""

    authentication_classes = []
    permission_classes = [AllowAny]

    @extend_schema(
        parameters=[
            OpenApiParameter("number", str, required=True, description="Case number"),
            OpenApiParameter("id_suffix", str, required=True, description="Last 4 of the ID"),
        ],
        responses={200: ProgressOutput},
    )
    def get(self, request):
        number = request.query_params.get("number", "")[:20]
        suffix = request.query_params.get("id_suffix", "")[:8]
        if not number or not suffix:
            raise ValidationError(
                _("Give the case number and the last 4 of the ID number."), code="invalid"
            )
        try:
            case = case_selectors.case_for_citizen_limited(
                number=number, id_suffix=suffix, client=client_ip(request)
            )
        except case_selectors.ProgressLookupsExhausted:
            raise Throttled(wait=settings.PROGRESS_FAILURE_WINDOW_SECONDS) from None
        if case is None:
            raise Case.DoesNotExist
        return Response(ProgressOutput(counter_selectors.case_public_progress(case)).data)


class IntakeApi(APIView):
    """Open the case for the ticket being served (the checklist as ticked). Scanned
    materials are uploaded on the workbench screen."""

    permission_classes = IsWritingClerk

    @extend_schema(request=IntakeInput, responses={201: CaseOutput})
    def post(self, request):
        data = _valid(IntakeInput, request.data)
        case = services.case_accept(
            clerk=request.user,
            item_id=data["item"],
            applicant_name=data["applicant_name"],
            id_number=data["id_number"],
            received_material_ids=set(data["received_material_ids"]),
            applicant_phone=data["applicant_phone"],
            defer_missing=data["defer_missing"],
            intake_token=data["intake_token"],
            employer=data["employer"] and services.Employer(**data["employer"]),
            agent=data["agent"] and services.Agent(**data["agent"]),
            authorisation_received=data["authorisation_received"],
            assisting_staff_id=data["assisting_staff"],
        )
        return Response(CaseOutput(case).data, status=201)


class ClerkCaseListApi(APIView):
    permission_classes = [IsClerk]

    @extend_schema(responses={200: CaseOutput(many=True)})
    def get(self, request):
        return Response(
            CaseOutput(counter_selectors.clerk_recent_cases(request.user, limit=50), many=True).data
        )


def _clerk_case(request, case_id: int) -> Case:
    return case_selectors.clerk_case(clerk=request.user, case_id=case_id)


class ClerkCaseApi(APIView):
    permission_classes = [IsClerk]

    @extend_schema(responses={200: CaseDetailOutput})
    def get(self, request, case_id: int):
        case = _clerk_case(request, case_id)
        services.case_opened(viewer=request.user, case=case)
        case.__dict__.update(case_selectors.case_progress_for_clerk(case=case))
        case.__dict__.update(case_selectors.case_chain_reasons(case=case))
        return Response(CaseDetailOutput(case).data)


class CaseSupplyApi(APIView):
    """Record promised (容缺) materials handed in."""

    permission_classes = IsWritingClerk

    @extend_schema(request=SupplyInput, responses={200: CaseOutput})
    def post(self, request, case_id: int):
        _clerk_case(request, case_id)
        data = _valid(SupplyInput, request.data)
        case = services.case_materials_supplied(
            clerk=request.user, case_id=case_id, material_ids=set(data["material_ids"])
        )
        return Response(CaseOutput(case).data)


class CaseResubmitApi(APIView):
    """Resubmit a returned case: a new round with fresh draws."""

    permission_classes = IsWritingClerk

    @extend_schema(request=None, responses={200: CaseOutput})
    def post(self, request, case_id: int):
        _clerk_case(request, case_id)
        return Response(
            CaseOutput(services.case_resubmit(clerk=request.user, case_id=case_id)).data
        )


class CaseRevealIdApi(APIView):
    """The full ID number, for a stated reason, logged (handling clerk or auditor)."""

    permission_classes = [ScopeWritable, role_permission(Role.CLERK, Role.AUDITOR)]

    @extend_schema(request=ReasonInput, responses={200: RevealOutput})
    def post(self, request, case_id: int):
        case = get_object_or_404(cases_in_scope(request.user), pk=case_id)
        data = _valid(ReasonInput, request.data)
        number = scan_services.case_id_number_reveal(
            case=case, viewer=request.user, reason=data["reason"]
        )
        return Response({"id_number": number})
