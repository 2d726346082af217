"""Reads of the case file: what the handling clerk, the chain and the citizen may see;
the inbox of a drawn reviewer or approver."""

import hashlib
import hmac

from django.conf import settings

from counters.models import Case, CaseDocument
from langzhong_si.identity import id_suffix_normalise
from langzhong_si.ratelimit import (
    FailureBudget,
    failure_budgets_release,
    failure_budgets_reserve,
)
from risk.models import ReviewTask


def clerk_case(*, clerk, case_id: int) -> Case:
    """A case as its handling clerk may see it; other clerks get DoesNotExist (404)."""
    return Case.objects.select_related("item").get(pk=case_id, handler=clerk)


def document_for_viewer(*, user, document_id: int):
    """A scan as one of its case's chain may open it: the handling clerk or anyone
    drawn for a task on the case. Others get DoesNotExist (a 404)."""
    document = CaseDocument.objects.select_related("case").get(pk=document_id)
    case = document.case
    allowed = (
        case.handler_id == user.pk or ReviewTask.objects.filter(case=case, assignee=user).exists()
    )
    if not allowed:
        raise CaseDocument.DoesNotExist
    return document


def case_for_citizen(*, number: str, id_suffix: str) -> Case | None:
    """The case a citizen may follow: its number and the last four characters of the
    applicant's ID number must both match."""
    suffix = id_suffix_normalise(id_suffix)
    case = Case.objects.select_related("item").filter(number=number.strip()).first()
    if case is None or len(suffix) != 4 or case.applicant_id_masked[-4:] != suffix:
        return None
    return case


class ProgressLookupsExhausted(Exception):
    """Too many failed look-ups of this case number, or from this client, lately."""


def case_for_citizen_limited(*, number: str, id_suffix: str, client: str) -> Case | None:
    """case_for_citizen, counting only failures: per case number (guessing one case's
    ID suffix from however many addresses) and per client (one address trying many
    cases). A successful look-up never counts against a budget; but once a budget is
    spent, every look-up it covers, right or wrong, is refused until the window ends, so
    wrong guesses at one case number can hold its citizen off the page for that long
    (the ticket slip's QR page stays open to them)."""
    window = settings.PROGRESS_FAILURE_WINDOW_SECONDS
    budgets = [
        FailureBudget("progress-case", number.strip(), settings.PROGRESS_FAILURES_PER_CASE, window),
        FailureBudget("progress-client", client, settings.PROGRESS_FAILURES_PER_CLIENT, window),
    ]
    if not failure_budgets_reserve(budgets):
        raise ProgressLookupsExhausted
    case = case_for_citizen(number=number, id_suffix=id_suffix)
    if case is not None:
        failure_budgets_release(budgets)
    return case


def inbox_tasks(*, user):
    return (
        ReviewTask.objects.filter(assignee=user, status=ReviewTask.Status.OPEN)
        .select_related("case", "case__item")
        .order_by("due_at")
    )


def inbox_task(*, user, task_id: int) -> ReviewTask:
    """A task as its drawn person may see it; anyone else gets DoesNotExist (a 404)."""
    return ReviewTask.objects.select_related("case", "case__item").get(pk=task_id, assignee=user)


def chain_pseudonym(*, case, user_id: int) -> str:
    """A stable stand-in for a chain member, the same on every page of one case and
    unlinkable across cases."""
    key = settings.SECRET_KEY.encode()
    digest = hmac.new(key, f"pseudonym:{case.pk}:{user_id}".encode(), hashlib.sha256)
    return digest.hexdigest()[:4].upper()


def case_earlier_steps(*, case, before_task: ReviewTask) -> list[dict]:
    """Earlier decisions of this case for a chain member, people as pseudonyms only."""
    rows = [
        {
            "role": "handle",
            "pseudonym": chain_pseudonym(case=case, user_id=case.handler_id),
            "status": "",
            "comment": "",
            "decided_at": case.accepted_at,
        }
    ]
    earlier = (
        ReviewTask.objects.filter(case=case, decided_at__isnull=False)
        .exclude(pk=before_task.pk)
        .order_by("decided_at")
    )
    for task in earlier:
        rows.append(
            {
                "role": task.role,
                "pseudonym": chain_pseudonym(case=case, user_id=task.assignee_id),
                "status": task.status,
                "comment": task.comment,
                "decided_at": task.decided_at,
            }
        )
    return rows
