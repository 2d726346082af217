"""The reviewer's and approver's inbox over HTTP: the same selectors and services as the
screens, the same checks, and the same blindness (people in the chain appear as
pseudonyms)."""

from django.http import Http404
from drf_spectacular.utils import extend_schema
from rest_framework import serializers
from rest_framework.permissions import BasePermission
from rest_framework.response import Response
from rest_framework.views import APIView

from cases.api import ChecklistRowOutput
from inbox import selectors as inbox_selectors
from inbox import services
from langzhong_si.api import OutputSerializer
from langzhong_si.text import COMMENT_MAX_LENGTH
from langzhong_si.versions import poll_etag, poll_not_modified, user_key
from risk.models import ReviewTask
from scans.scoping import ScopeWritable
from staff.roles import Role
from staff.selectors import user_roles


class IsReviewerOrApprover(BasePermission):
    def has_permission(self, request, view):
        return bool({Role.REVIEWER.value, Role.APPROVER.value} & user_roles(request.user))


class TaskSummaryOutput(OutputSerializer):
    id = serializers.IntegerField(source="pk")
    case_number = serializers.CharField(source="case.number")
    item = serializers.CharField(source="case.item.name")
    risk_level = serializers.IntegerField(source="case.risk_level")
    role = serializers.CharField()
    step = serializers.IntegerField()
    status = serializers.CharField()
    due_at = serializers.DateTimeField()


class EarlierStepOutput(OutputSerializer):
    role = serializers.CharField()
    pseudonym = serializers.CharField()
    status = serializers.CharField()
    comment = serializers.CharField()
    decided_at = serializers.DateTimeField()


class TaskDetailOutput(TaskSummaryOutput):
    applicant_name = serializers.CharField(source="case.applicant_name")
    applicant_id_masked = serializers.CharField(source="case.applicant_id_masked")
    accepted_at = serializers.DateTimeField(source="case.accepted_at")
    due_date = serializers.DateField(source="case.due_date")
    checklist = ChecklistRowOutput(many=True, source="case.checklist")
    earlier_steps = serializers.SerializerMethodField()

    def get_earlier_steps(self, task) -> list[dict]:
        rows = inbox_selectors.case_earlier_steps(case=task.case, before_task=task)
        return EarlierStepOutput(rows, many=True).data


class DecisionInput(serializers.Serializer):
    decision = serializers.ChoiceField(choices=list(services.Decision.ALL))
    comment = serializers.CharField(
        required=False, allow_blank=True, max_length=COMMENT_MAX_LENGTH, default=""
    )


def _own_task(request, task_id: int) -> ReviewTask:
    try:
        return inbox_selectors.inbox_task(user=request.user, task_id=task_id)
    except ReviewTask.DoesNotExist:
        raise Http404 from None


class InboxListApi(APIView):
    permission_classes = [IsReviewerOrApprover]

    def poll_key(self, request) -> str:
        """The version behind this poll's ETag (also read by operations.pollpath)."""
        return user_key(request.user.pk)

    @extend_schema(responses={200: TaskSummaryOutput(many=True), 304: None})
    def get(self, request):
        etag, unchanged = poll_etag(request, self.poll_key(request))
        if unchanged:  # no task of this person's changed since the last answer
            return poll_not_modified(etag)
        response = Response(
            TaskSummaryOutput(inbox_selectors.inbox_tasks(user=request.user), many=True).data
        )
        response["ETag"] = etag
        return response


class InboxTaskApi(APIView):
    permission_classes = [IsReviewerOrApprover]

    @extend_schema(responses=TaskDetailOutput)
    def get(self, request, task_id: int):
        return Response(TaskDetailOutput(_own_task(request, task_id)).data)


class InboxDecisionApi(APIView):
    permission_classes = [ScopeWritable, IsReviewerOrApprover]

    @extend_schema(request=DecisionInput, responses=TaskSummaryOutput)
    def post(self, request, task_id: int):
        task = _own_task(request, task_id)
        data = DecisionInput(data=request.data)
        data.is_valid(raise_exception=True)
        # Refusals take the API's one error shape: 400 bad input, 403 not the drawn
        # person, 409 a task already decided or superseded.
        decided = services.review_task_decide(
            task_id=task.pk,
            actor=request.user,
            decision=data.validated_data["decision"],
            comment=data.validated_data["comment"],
        )
        # The summary as read above, with the status the decision gave it (nothing else
        # in it changes): no second read of the task, its case and its item.
        answer = TaskSummaryOutput(task).data
        answer["status"] = decided.status
        return Response(answer)
