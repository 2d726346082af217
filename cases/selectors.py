"""Reads of the case file: what the handling clerk, the chain and the citizen may see."""

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
