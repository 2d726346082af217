"""The team lead's figures over HTTP (e.g. for a provincial platform): the live hall,
period reports and the staff evaluation, from the same selectors as the screens."""

from django.core.exceptions import ValidationError
from django.utils import timezone
from drf_spectacular.utils import OpenApiParameter, extend_schema
from rest_framework import serializers
from rest_framework.response import Response
from rest_framework.views import APIView

from evaluation import selectors, services
from evaluation.models import COMPONENTS
from evaluation.periods import month_of, month_parse, period_parse
from evaluation.views import EVALUATED_ROLES, LIVE_ROLES, REPORT_ROLES
from langzhong_si.text import REASON_MAX_LENGTH
from staff.api_access import role_permission
from staff.roles import Role


class QueueNowOutput(serializers.Serializer):
    queue = serializers.CharField()
    waiting = serializers.IntegerField()
    longest_wait = serializers.FloatField(allow_null=True)
    average_wait = serializers.FloatField(allow_null=True)


class WindowNowOutput(serializers.Serializer):
    number = serializers.IntegerField(source="window.number")
    zone = serializers.CharField(source="window.zone")
    state = serializers.CharField(source="window.state")
    clerk = serializers.CharField()
    minutes = serializers.FloatField(allow_null=True)


class HallNowOutput(serializers.Serializer):
    now = serializers.DateTimeField()
    queues = QueueNowOutput(many=True)
    windows = WindowNowOutput(many=True)
    calls_last_hour = serializers.IntegerField()
    today = serializers.DictField(child=serializers.IntegerField())
    awaiting_draw = serializers.IntegerField()
    tasks_past_limit = serializers.IntegerField()
    cases_past_due = serializers.IntegerField()
    follow_ups_open = serializers.IntegerField()


class FigureOutput(serializers.Serializer):
    label = serializers.CharField()
    value = serializers.FloatField(allow_null=True)


class ReportOutput(serializers.Serializer):
    first = serializers.DateField()
    last = serializers.DateField()
    figures = serializers.DictField(help_text="Every figure of the report, by section.")
    summary = FigureOutput(many=True)


class EvaluationRowOutput(serializers.Serializer):
    user_id = serializers.IntegerField()
    name = serializers.CharField()
    employee_number = serializers.CharField()
    kind = serializers.CharField()
    agency = serializers.CharField(help_text="The person's agency code.")
    volume = serializers.IntegerField()
    average_minutes = serializers.FloatField(allow_null=True)
    on_time_rate = serializers.FloatField(allow_null=True)
    satisfaction_rate = serializers.FloatField(allow_null=True)
    returns = serializers.IntegerField()
    rejections = serializers.IntegerField()
    expired = serializers.IntegerField()
    audit_errors = serializers.IntegerField()
    components = serializers.DictField(child=serializers.FloatField(allow_null=True))
    score = serializers.FloatField(allow_null=True)


class WeightsInput(serializers.Serializer):
    volume = serializers.IntegerField(min_value=0, max_value=100)
    speed = serializers.IntegerField(min_value=0, max_value=100)
    on_time = serializers.IntegerField(min_value=0, max_value=100)
    satisfaction = serializers.IntegerField(min_value=0, max_value=100)
    quality = serializers.IntegerField(min_value=0, max_value=100)
    audit = serializers.IntegerField(min_value=0, max_value=100)
    reason = serializers.CharField(max_length=REASON_MAX_LENGTH)


class WeightsOutput(serializers.Serializer):
    volume = serializers.IntegerField()
    speed = serializers.IntegerField()
    on_time = serializers.IntegerField()
    satisfaction = serializers.IntegerField()
    quality = serializers.IntegerField()
    audit = serializers.IntegerField()
    set_at = serializers.DateTimeField()
    reason = serializers.CharField()


def _plain(value):
    """Figures as JSON: dates as ISO strings, choice labels as text."""
    import datetime

    if isinstance(value, dict):
        return {str(key): _plain(item) for key, item in value.items()}
    if isinstance(value, list | tuple):
        return [_plain(item) for item in value]
    if isinstance(value, datetime.date):
        return value.isoformat()
    if hasattr(value, "label"):
        return str(value.label)
    if value is None or isinstance(value, bool | int | float | str):
        return value
    return str(value)


class HallNowApi(APIView):
    permission_classes = [role_permission(*LIVE_ROLES)]

    @extend_schema(responses={200: HallNowOutput})
    def get(self, request):
        return Response(HallNowOutput(selectors.hall_live(viewer=request.user)).data)


class ReportApi(APIView):
    permission_classes = [role_permission(*REPORT_ROLES)]

    @extend_schema(
        parameters=[
            OpenApiParameter("from", str, description="First day, YYYY-MM-DD (default: month)"),
            OpenApiParameter("to", str, description="Last day, YYYY-MM-DD"),
        ],
        responses={200: ReportOutput},
    )
    def get(self, request):
        from evaluation.exports import report_summary_lines

        period = period_parse(
            request.query_params.get("from"),
            request.query_params.get("to"),
            default=month_of(timezone.localdate()),
        )
        figures = selectors.period_report(period, viewer=request.user)
        summary = [
            {"label": str(label), "value": value} for label, value in report_summary_lines(figures)
        ]
        figures.pop("period")
        return Response(
            {
                "first": period.first,
                "last": period.last,
                "figures": _plain(figures),
                "summary": summary,
            }
        )


class EvaluationApi(APIView):
    """A month's evaluation rows, as far as the caller may see (the team lead all; a
    window lead their zone; anyone else only themselves)."""

    permission_classes = [role_permission(*EVALUATED_ROLES)]

    @extend_schema(
        parameters=[OpenApiParameter("month", str, description="YYYY-MM (default: this month)")],
        responses={200: EvaluationRowOutput(many=True)},
    )
    def get(self, request):
        period = month_parse(request.query_params.get("month"), default=timezone.localdate())
        scope = selectors.evaluation_scope(request.user, period)
        rows = selectors.staff_evaluation(period, scope=scope)
        return Response(EvaluationRowOutput(rows, many=True).data)


class WeightsApi(APIView):
    permission_classes = [role_permission(Role.TEAM_LEAD)]

    @extend_schema(responses={200: WeightsOutput})
    def get(self, request):
        return Response(WeightsOutput(selectors.evaluation_weights_current()).data)

    @extend_schema(request=WeightsInput, responses={201: WeightsOutput})
    def post(self, request):
        data = WeightsInput(data=request.data)
        data.is_valid(raise_exception=True)
        values = dict(data.validated_data)
        reason = values.pop("reason")
        if set(values) != set(COMPONENTS):
            raise ValidationError("weights")
        row = services.evaluation_weights_set(lead=request.user, weights=values, reason=reason)
        return Response(WeightsOutput(row).data, status=201)
