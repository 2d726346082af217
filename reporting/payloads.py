"""The bodies sent upward: only what the platforms need. No name or full ID number of a
citizen ever leaves: a person applying is sent as their masked ID number (first 6 and
last 4, as on every screen) and an employer by its credit code and name, which are not
personal data; the staff member by their 工号, the item by the province's codes."""

from django.conf import settings
from django.utils import timezone

from catalog.models import ServiceItem
from counters.models import Case
from ratings.models import Rating
from reporting.models import Delivery
from sites.models import Agency, Site

C = Case.Status
# A finished case's result as the case platform reads it.
CASE_RESULTS = {
    C.FINISHED: "finished",
    C.APPROVED: "approved",
    C.REJECTED: "rejected",
    C.FORWARDED: "forwarded",
    C.ENDED_UNSUPPLIED: "ended",
}
# The national 好差评 levels by their standard names.
RATING_LEVELS = {5: "非常满意", 4: "满意", 3: "基本满意", 2: "不满意", 1: "非常不满意"}


def _item(item: ServiceItem | None) -> dict | None:
    if item is None:
        return None  # a consultation: no item
    return {
        "implementation_code": item.implementation_code,
        "business_item_code": item.business_item_code,
        "local_code": item.code,
        "name": item.name,
    }


def _employee_number(user) -> str:
    profile = getattr(user, "staff_profile", None)
    return profile.employee_number if profile is not None else ""


def sender_id(agency: Agency | None) -> str:
    """The id the platforms know the agency by; the deployment's setting for an agency
    without one of its own."""
    return (agency.reporting_sender_id if agency else "") or settings.REPORTING_SENDER_ID


def _envelope(delivery: Delivery, site: Site) -> dict:
    return {
        "idempotency_key": delivery.key,
        "sender": sender_id(site.agency),
        "agency_code": site.agency.code,
        "site_code": site.code,
        "kind": delivery.kind,
        "occurred_at": delivery.occurred_at.isoformat(),
    }


def rating_payload(delivery: Delivery) -> dict:
    rating = Rating.objects.select_related(
        "ticket__item", "window", "clerk__staff_profile", "site__agency"
    ).get(pk=delivery.object_id)
    cases = rating.ticket.cases.exclude(status=C.NOTIFIED).order_by("pk")
    return {
        **_envelope(delivery, rating.site),
        "rating": {
            "level": rating.level,
            "level_name": RATING_LEVELS[rating.level],
            "bad": rating.level in Rating.BAD_LEVELS,
            # The citizen's own words are what a bad rating's follow-up answers.
            "reason": rating.reason,
            "sequence": rating.sequence,
            "rated_at": rating.created_at.isoformat(),
        },
        "item": _item(rating.ticket.item),
        "staff_number": _employee_number(rating.clerk),
        "window": rating.window.number,
        "case_numbers": list(cases.values_list("number", flat=True)),
    }


def _applicant(case: Case) -> dict:
    if case.applicant_kind == Case.ApplicantKind.EMPLOYER:
        return {
            "kind": "employer",
            "credit_code": case.employer_credit_code,
            "name": case.employer_name,
        }
    return {"kind": "person", "id_number_masked": case.applicant_id_masked}


def case_payload(delivery: Delivery) -> dict:
    case = Case.objects.select_related("item", "handler__staff_profile", "site__agency").get(
        pk=delivery.object_id
    )
    body = {
        **_envelope(delivery, case.site),
        "case_number": case.number,
        "item": _item(case.item),
        "staff_number": _employee_number(case.handler),
        "applicant": _applicant(case),
        "accepted_at": case.accepted_at.isoformat(),
        "promised_date": case.due_date.isoformat(),
    }
    if delivery.kind == Delivery.Kind.CASE_COMPLETED:
        finished = case.finished_at or delivery.occurred_at
        body["completion"] = {
            "result": CASE_RESULTS.get(case.status, case.status),
            "finished_at": finished.isoformat(),
            "within_promised_date": timezone.localtime(finished).date() <= case.due_date,
        }
    return body


BUILDERS = {
    Delivery.Kind.RATING: rating_payload,
    Delivery.Kind.CASE_ACCEPTED: case_payload,
    Delivery.Kind.CASE_COMPLETED: case_payload,
}


def delivery_payload(delivery: Delivery) -> dict:
    return BUILDERS[delivery.kind](delivery)
