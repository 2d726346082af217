from django.contrib import messages
from django.contrib.auth import get_user_model
from django.core.exceptions import PermissionDenied, ValidationError
from django.http import Http404
from django.shortcuts import get_object_or_404, redirect, render
from django.utils.translation import gettext_lazy as _
from django.views.decorators.http import require_POST

from counters.forms import DecisionForm
from risk import selectors, services
from risk.models import ReviewTask
from risk.services import Decision
from staff.decorators import role_required
from staff.models import StaffProfile
from staff.roles import Role

_DECISION_MESSAGES = {
    Decision.APPROVE: _("Approved. The case moves to its next step."),
    Decision.RETURN: _("Returned to the handling clerk."),
    Decision.REJECT: _("Rejected. The applicant will be told."),
}


@role_required(Role.REVIEWER, Role.APPROVER)
def inbox(request):
    return render(request, "risk/inbox.html", {"tasks": selectors.inbox_tasks(user=request.user)})


def _task_for(request, task_id: int) -> ReviewTask:
    try:
        return selectors.inbox_task(user=request.user, task_id=task_id)
    except ReviewTask.DoesNotExist:
        raise Http404 from None


@role_required(Role.REVIEWER, Role.APPROVER)
def task_detail(request, task_id: int, form: DecisionForm | None = None, status: int = 200):
    task = _task_for(request, task_id)
    case = task.case
    context = {
        "task": task,
        "case": case,
        "earlier_steps": selectors.case_earlier_steps(case=case, before_task=task),
        "form": form or DecisionForm(),
    }
    return render(request, "risk/task_detail.html", context, status=status)


@require_POST
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
            return redirect("risk:task_detail", task_id=task.pk)
        return redirect("risk:inbox")
    messages.success(request, _DECISION_MESSAGES[form.cleaned_data["decision"]])
    return redirect("risk:inbox")


@role_required(Role.TEAM_LEAD)
def pool(request):
    """Who can be drawn: each reviewer's and approver's standing today, the pool sizes,
    and availability changes (with a reason, recorded, never one's own)."""
    context = {
        "people": selectors.pool_people(),
        "sizes": selectors.pool_sizes(),
        "availability_choices": StaffProfile.Availability.choices,
    }
    return render(request, "risk/pool.html", context)


@require_POST
@role_required(Role.TEAM_LEAD)
def pool_availability(request, user_id: int):
    person = get_object_or_404(get_user_model(), pk=user_id, staff_profile__isnull=False)
    try:
        services.availability_set(
            user=person,
            availability=request.POST.get("availability", ""),
            reason=request.POST.get("reason", "")[:100],
            actor=request.user,
        )
    except (ValidationError, PermissionDenied) as error:
        for message in getattr(error, "messages", None) or [str(error)]:
            messages.error(request, message)
    else:
        messages.success(
            request,
            _("Availability of %(name)s changed.") % {"name": person.staff_profile.display_name},
        )
    return redirect("risk:pool")
