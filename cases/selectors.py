"""Reads of the case file: what the clerks and the citizen may see, and the case page's
history."""

import re
import unicodedata
from dataclasses import dataclass, field

from django.conf import settings
from django.core.exceptions import ValidationError
from django.db.models import Q
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy

from audit.models import AuditEvent
from counters.models import Case
from langzhong_si.identity import id_suffix_normalise, id_tail_digests
from langzhong_si.ratelimit import (
    FailureBudget,
    failure_budgets_release,
    failure_budgets_reserve,
)
from langzhong_si.text import NAME_MAX_LENGTH, list_separator, name_clean
from risk.models import ReviewTask
from scans.scoping import cases_in_scope
from staff.roles import Role


def clerk_case(*, clerk, case_id: int) -> Case:
    """A case as the counter sees it. Any clerk of the case's site may open it (a citizen
    returning with promised materials, or with a returned case, meets whichever clerk the
    draw gives); opening another clerk's case is recorded (services.case_opened). A case
    of another site, or of another agency, raises DoesNotExist (a 404: its existence is
    not revealed)."""
    return cases_in_scope(clerk).select_related("item", "handler__staff_profile").get(pk=case_id)


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


# --- The counter's case search -------------------------------------------------------------

SEARCH_LIMIT = 20
_CASE_NUMBER = re.compile(r"[0-9]{8,20}")
_ID_TAIL = re.compile(r"[0-9]{3,5}[0-9X]")
_DIGITS = re.compile(r"[0-9X]+")


@dataclass
class CaseSearch:
    query: str = ""
    terms: dict = field(default_factory=dict)  # kind -> the term as typed (normalised)
    cases: list = field(default_factory=list)
    more: bool = False  # more than SEARCH_LIMIT matched: narrow the search
    error: str = ""

    @property
    def masked_terms(self) -> dict:
        """The terms as the audit log keeps them: a name as its first character, an ID
        ending as its last four characters (as every masked number shows them)."""
        masked = dict(self.terms)
        if "id_tail" in masked:
            tail = masked["id_tail"]
            masked["id_tail"] = "*" * (len(tail) - 4) + tail[-4:]
        if "name" in masked:
            name = masked["name"]
            masked["name"] = name[0] + "*" * (len(name) - 1)
        return masked


def _search_terms(query: str) -> dict:
    """Each space-separated part of the query is a case number (8+ digits), the last 4-6
    characters of an ID number, or a name; the parts are combined."""
    terms: dict = {}
    for part in unicodedata.normalize("NFKC", query).upper().split():
        if _CASE_NUMBER.fullmatch(part):
            terms["number"] = part
        elif _ID_TAIL.fullmatch(part):
            terms["id_tail"] = part
        elif _DIGITS.fullmatch(part):
            raise ValidationError(
                _("Type a whole case number, or the last 4 to 6 characters of the ID number."),
                code="search_digits",
            )
        else:
            terms["name"] = (terms.get("name", "") + part)[:NAME_MAX_LENGTH]
    return terms


def cases_matching(query: str, *, user) -> CaseSearch:
    """Cases of the user's sites by number, by the ID number's last 4-6 characters
    (through the stored keyed hash of the last six: no row is decrypted) and by the
    applicant's full name; newest first, at most SEARCH_LIMIT."""
    result = CaseSearch(query=(query or "")[:100])
    try:
        result.terms = _search_terms(result.query)
        if "name" in result.terms:
            result.terms["name"] = name_clean(result.terms["name"], field=_("Name"))
    except ValidationError as error:
        result.terms, result.error = {}, " ".join(error.messages)
        return result
    if not result.terms:
        return result
    if "name" in result.terms and len(result.terms["name"]) < 2:
        result.error = _("Type the applicant's full name.")
        return result
    filters = Q()
    if "number" in result.terms:
        filters &= Q(number=result.terms["number"])
    if "id_tail" in result.terms:
        filters &= Q(applicant_id_tail_digest__in=id_tail_digests(result.terms["id_tail"]))
    if "name" in result.terms:
        filters &= Q(applicant_name=result.terms["name"])
    found = list(
        cases_in_scope(user)
        .filter(filters)
        .select_related("item", "handler__staff_profile")
        .order_by("-accepted_at", "-pk")[: SEARCH_LIMIT + 1]
    )
    result.cases, result.more = found[:SEARCH_LIMIT], len(found) > SEARCH_LIMIT
    return result


# --- The case page ----------------------------------------------------------------------

# The clerk-side events of a case, shown with who did them. The chain's decisions are shown
# without a name: the clerk never learns who reviewed (blind).
_CLERK_EVENTS = ("case.accepted", "case.materials_supplied", "case.corrected", "case.paper_printed")


# The case file's coded values as people read them (the case page's history and the
# audit log screen both use these).
CORRECTED_FIELD_LABELS = {
    "applicant_name": gettext_lazy("applicant's name"),
    "applicant_phone": gettext_lazy("mobile number"),
    "id_number": gettext_lazy("ID number"),
    "checklist": gettext_lazy("materials"),
}
PAPER_LABELS = {
    "notice": gettext_lazy("one-time notice"),
    "commitment": gettext_lazy("commitment letter"),
    "result": gettext_lazy("result"),
    "receipt": gettext_lazy("acceptance receipt"),
}


def _history_detail(kind: str, data: dict) -> str:
    if kind == "case.materials_supplied":
        return list_separator().join(data.get("names", []))
    if kind == "case.document_added":
        return data.get("name", "")
    if kind == "case.corrected":
        parts = [str(CORRECTED_FIELD_LABELS.get(name, name)) for name in data.get("fields", [])]
        if data.get("scans"):
            parts.append(_("%(count)s scan(s)") % {"count": data["scans"]})
        return list_separator().join(parts)
    if kind == "case.paper_printed":
        return str(PAPER_LABELS.get(data.get("paper", ""), ""))
    return ""


def case_history(*, case: Case) -> list[dict]:
    """Who did what at the counter ("accepted by A, supplied by B, corrected by C"), with
    the chain's returns and rejections as the clerk may know them (no name: blind)."""
    events = (
        AuditEvent.objects.filter(
            Q(object_type="counters.case", object_id=str(case.pk))
            & (Q(event_type__in=_CLERK_EVENTS) | Q(event_type="case.status_changed"))
            | Q(event_type="case.document_added", data__case=case.pk)
        )
        .select_related("actor__staff_profile")
        .order_by("id")
    )
    rows = []
    for event in events:
        kind, data, actor = event.event_type, event.data, event.actor
        if kind == "case.status_changed":
            if data.get("from") == Case.Status.RETURNED:
                kind = "case.resubmitted"
            elif data.get("to") in (Case.Status.RETURNED, Case.Status.REJECTED):
                kind, actor = f"case.{data['to']}", None
            else:
                continue
        rows.append(
            {
                "kind": kind.removeprefix("case."),
                "at": event.occurred_at,
                "actor": actor,
                "detail": _history_detail(kind, data),
            }
        )
    return rows


def case_chain_reasons(*, case: Case) -> dict:
    """The reasons given for each return (newest first) and for a rejection."""
    decided = ReviewTask.objects.filter(
        case=case, status__in=[ReviewTask.Status.RETURNED, ReviewTask.Status.REJECTED]
    ).order_by("-decided_at")
    returns = [t.comment for t in decided if t.status == ReviewTask.Status.RETURNED]
    rejection = next((t.comment for t in decided if t.status == ReviewTask.Status.REJECTED), "")
    return {"return_reasons": returns, "rejection": rejection}


def case_paper_kind(case: Case) -> str:
    """Which paper the counter prints for a case in its current state (the names are
    papers.services.PrintedPaper's)."""
    if case.status == Case.Status.NOTIFIED:
        return "notice"
    if case.status in (Case.Status.AWAITING_MATERIALS, Case.Status.ENDED_UNSUPPLIED):
        return "commitment"
    if case.status == Case.Status.FINISHED:
        return "result"
    return "receipt"


def case_progress_for_clerk(*, case) -> dict:
    """What the handling clerk may know of the chain: whether the current step waits for a
    qualified person, and the reasons given for a return, never who gave them."""
    current = ReviewTask.objects.filter(
        case=case, review_round=case.review_round, status__in=ReviewTask.OPEN_STATES
    ).first()
    returned = (
        ReviewTask.objects.filter(case=case, status=ReviewTask.Status.RETURNED)
        .order_by("-decided_at")
        .values_list("comment", flat=True)
    )
    waiting = current is not None and current.status == ReviewTask.Status.AWAITING_DRAW
    # Only a draw that ran and found nobody means "no eligible person"; a task without
    # that (opened by an earlier release, which drew through the outbox) is being drawn.
    pool_empty = (
        waiting
        and AuditEvent.objects.filter(
            event_type="draw.pool_empty", object_type="risk.reviewtask", object_id=str(current.pk)
        ).exists()
    )
    return {
        "awaiting_qualified": pool_empty,
        "drawing": waiting and not pool_empty,
        "drawing_approver": waiting and current.role == Role.APPROVER,
        "return_reasons": list(returned),
    }
