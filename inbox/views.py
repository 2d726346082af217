from django.contrib import messages
from django.core.exceptions import ValidationError
from django.http import Http404
from django.shortcuts import redirect, render
from django.utils.translation import get_language, gettext_lazy
from django.views.decorators.http import require_POST

from inbox import selectors as inbox_selectors
from inbox import services
from inbox.forms import DecisionForm
from inbox.services import Decision
from langzhong_si.versions import poll_etag, polled_screen, user_key
from risk.models import ReviewTask
from scans.scoping import scope_writes_refused
from staff.decorators import role_required
from staff.roles import Role

_DECISION_MESSAGES = {
    Decision.APPROVE: gettext_lazy("Approved. The case moves to its next step."),
    Decision.RETURN: gettext_lazy("Returned to the handling clerk."),
    Decision.REJECT: gettext_lazy("Rejected. The applicant will be told."),
}


@role_required(Role.REVIEWER, Role.APPROVER)
def inbox(request):
    return render(
        request, "risk/inbox.html", {"tasks": inbox_selectors.inbox_tasks(user=request.user)}
    )


def _inbox_tasks_etag(request) -> str:
    """The list moves with the person's version (every task drawn to them, decided, or
    taken back), its words with the language."""
    return poll_etag(request, user_key(request.user.pk), also=f"@{get_language()}")[0]


@polled_screen(_inbox_tasks_etag, role_required(Role.REVIEWER, Role.APPROVER))
def inbox_tasks(request):
    """The inbox's list, polled by the page every 5 s: a task drawn to the person shows
    without a reload; an empty 304 while none came or went."""
    return render(
        request, "risk/_inbox_table.html", {"tasks": inbox_selectors.inbox_tasks(user=request.user)}
    )


def _task_for(request, task_id: int) -> ReviewTask:
    try:
        return inbox_selectors.inbox_task(user=request.user, task_id=task_id)
    except ReviewTask.DoesNotExist:
        raise Http404 from None


@role_required(Role.REVIEWER, Role.APPROVER)
def task_detail(request, task_id: int, form: DecisionForm | None = None, status: int = 200):
    task = _task_for(request, task_id)
    case = task.case
    context = {
        "task": task,
        "case": case,
        "earlier_steps": inbox_selectors.case_earlier_steps(case=case, before_task=task),
        "form": form or DecisionForm(),
    }
    return render(request, "risk/task_detail.html", context, status=status)


@require_POST
@scope_writes_refused
@role_required(Role.REVIEWER, Role.APPROVER)
def task_decide(request, task_id: int):
    task = _task_for(request, task_id)
    form = DecisionForm(request.POST)
    if not form.is_valid():
        return task_detail(request, task_id, form=form, status=400)
    try:
        services.review_task_decide(
            task_id=task.pk,
            actor=request.user,
            decision=form.cleaned_data["decision"],
            comment=form.cleaned_data["comment"],
        )
    except ValidationError as error:
        for message in error.messages:
            messages.error(request, message)
        if task.status == ReviewTask.Status.OPEN:
            return redirect("cases:task_detail", task_id=task.pk)
        return redirect("cases:inbox")
    messages.success(request, _DECISION_MESSAGES[form.cleaned_data["decision"]])
    return redirect("cases:inbox")
