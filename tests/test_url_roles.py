"""Every URL of the project against every role (req. 5, 7): the table below says who
may use each one; everyone else is refused (403, 404 for another's object, or sent to
sign in). A URL missing from the table fails the test, so new screens must be added."""

import datetime

import pytest
from django.conf import settings
from django.core.files.base import ContentFile
from django.test import Client
from django.urls import URLPattern, URLResolver, get_resolver, reverse
from django.utils import timezone

from audit.models import Finding
from cases import services as case_services
from counters import services
from counters.models import CaseDocument, Ticket
from devices.models import HallDevice
from devices.services import hall_device_link_issue
from operations.models import DestructionDecision
from ratings import services as rating_services
from ratings.models import FollowUp
from risk.services import review_task_draw
from staff.roles import Role
from tests.factories import make_id_number, make_staff, sign_in

pytestmark = pytest.mark.django_db

ANON, CLERK, REVIEWER, APPROVER = "anonymous", "clerk", "reviewer", "approver"
TEAM_LEAD, WINDOW_LEAD, AUDITOR = "team_lead", "window_lead", "auditor"
SYSTEM, SECURITY, AUDIT_ADMIN = "system_admin", "security_admin", "audit_admin"
STAFF = {CLERK, REVIEWER, APPROVER, TEAM_LEAD, WINDOW_LEAD, AUDITOR, SYSTEM, SECURITY, AUDIT_ADMIN}
EVERYONE = STAFF | {ANON}
NOBODY: set[str] = set()  # device screens: only a registered device, never a person
EVALUATED = {TEAM_LEAD, WINDOW_LEAD, CLERK, REVIEWER, APPROVER}

# URL name → (method, who may use it). Object URLs point at the clerk's case, the task
# drawn to the reviewer, and so on (see `objects`).
TABLE = {
    "home": ("GET", STAFF),
    "login": ("GET", EVERYONE),
    "api-schema": ("GET", EVERYONE),
    "api-docs": ("GET", EVERYONE),
    "api-categories": ("GET", EVERYONE),
    "api-items": ("GET", EVERYONE),
    "api-item": ("GET", EVERYONE),
    "api-progress": ("GET", EVERYONE),
    "api-rating-pad": ("GET", NOBODY),
    "api-ticket": ("GET", EVERYONE),
    "api-ticket-cancel": ("POST", EVERYONE),
    "api-ticket-rating": ("POST", EVERYONE),
    "api-kiosk-tickets": ("POST", NOBODY),
    "api-kiosk-appointment-check-in": ("POST", NOBODY),
    "api-display": ("GET", NOBODY),
    "api-counter": ("GET", {CLERK}),
    "api-sign-on": ("POST", {CLERK}),
    "api-sign-off": ("POST", {CLERK}),
    "api-ready": ("POST", {CLERK}),
    "api-pause": ("POST", {CLERK}),
    "api-recall": ("POST", {CLERK}),
    "api-no-show": ("POST", {CLERK}),
    "api-finish": ("POST", {CLERK}),
    "api-intake": ("POST", {CLERK}),
    "api-cases": ("GET", {CLERK}),
    "api-case": ("GET", {CLERK}),
    "api-case-supply": ("POST", {CLERK}),
    "api-case-resubmit": ("POST", {CLERK}),
    "api-case-reveal-id": ("POST", {CLERK, AUDITOR}),
    "api-inbox": ("GET", {REVIEWER, APPROVER}),
    "api-inbox-task": ("GET", {REVIEWER}),
    "api-inbox-decision": ("POST", {REVIEWER}),
    "api-lead-queue": ("GET", {WINDOW_LEAD}),
    "api-priority-confirm": ("POST", {WINDOW_LEAD}),
    "api-requeue": ("POST", {WINDOW_LEAD}),
    "api-follow-ups": ("GET", {TEAM_LEAD}),
    "api-follow-up": ("POST", {TEAM_LEAD}),
    "api-follow-up-assign": ("POST", {TEAM_LEAD}),
    "api-follow-up-review": ("POST", {TEAM_LEAD}),
    "api-appeals": ("GET", {TEAM_LEAD, AUDITOR}),
    "api-appeal-decision": ("POST", {TEAM_LEAD, AUDITOR}),
    "api-rating-appeal": ("POST", {CLERK}),
    "api-handling-appeal": ("POST", EVERYONE),
    "api-hall": ("GET", {TEAM_LEAD, WINDOW_LEAD}),
    "api-report": ("GET", {TEAM_LEAD, WINDOW_LEAD, AUDITOR}),
    "api-evaluation": ("GET", EVALUATED),
    "api-weights": ("GET", {TEAM_LEAD}),
    "api-findings": ("GET", {AUDITOR}),
    "api-finding-inspection": ("POST", {AUDITOR}),
    "api-audit-log": ("GET", {AUDIT_ADMIN}),
    "api-notifications": ("GET", STAFF),
    "api-notifications-read": ("POST", STAFF),
    "api-roles": ("POST", {SECURITY}),
    "api-unlock": ("POST", {SECURITY}),
    "api-second-factor-reset": ("POST", {SECURITY}),
    "api-sign-in-code": ("POST", {SECURITY}),
    "catalog:guide_index": ("GET", EVERYONE),
    "catalog:guide_search": ("GET", EVERYONE),
    "catalog:guide_detail": ("GET", EVERYONE),
    "catalog:guide_qr": ("GET", EVERYONE),
    "devices:device_register": ("GET", EVERYONE),
    "counters:kiosk": ("GET", NOBODY),
    "counters:ticket_print": ("GET", NOBODY),
    "counters:call_display": ("GET", NOBODY),
    "counters:call_display_calls": ("GET", NOBODY),
    "cases:progress": ("GET", EVERYONE),
    "ratings:ticket_page": ("GET", EVERYONE),
    "ratings:rating_pad": ("GET", NOBODY),
    "ratings:rating_pad_poll": ("GET", NOBODY),
    "counters:lead_queue": ("GET", {WINDOW_LEAD}),
    "ratings:follow_ups": ("GET", {TEAM_LEAD, WINDOW_LEAD}),
    "ratings:appeals": ("GET", {TEAM_LEAD, AUDITOR}),
    "ratings:my_bad_ratings": ("GET", {CLERK}),
    "ratings:results": ("GET", EVERYONE),
    "reporting:overview": ("GET", {TEAM_LEAD}),
    "reporting:resend": ("POST", {TEAM_LEAD}),
    "devices:hall_devices": ("GET", {TEAM_LEAD, SYSTEM}),
    "counters:workbench": ("GET", {CLERK}),
    "counters:workbench_panel": ("GET", {CLERK}),
    "counters:sign_on": ("POST", {CLERK}),
    "counters:sign_off": ("POST", {CLERK}),
    "counters:ready": ("POST", {CLERK}),
    "counters:pause": ("POST", {CLERK}),
    "counters:recall": ("POST", {CLERK}),
    "counters:no_show": ("POST", {CLERK}),
    "counters:finish": ("POST", {CLERK}),
    "cases:intake": ("POST", {CLERK}),
    "counters:item_picker": ("GET", {CLERK}),
    "cases:document_download": ("GET", {CLERK, REVIEWER}),
    "cases:case_detail": ("GET", {CLERK, WINDOW_LEAD}),
    "cases:case_search": ("GET", {CLERK}),
    "cases:case_correct": ("POST", {CLERK}),
    "cases:case_receipt": ("GET", {CLERK}),
    "cases:case_supply": ("POST", {CLERK}),
    "cases:case_signature": ("POST", {CLERK}),
    # ... and registered kiosks (tests/devices/test_essc_qr.py).
    "devices:essc_verify": ("POST", {CLERK}),
    "cases:case_reveal_id": ("POST", {CLERK, AUDITOR}),
    "cases:case_resubmit": ("POST", {CLERK}),
    "staff:notifications": ("GET", STAFF),
    "staff:notifications_read": ("POST", STAFF),
    "staff:account": ("GET", STAFF),
    "staff:two_factor": ("GET", STAFF),
    "staff:password_change": ("GET", STAFF),
    "security_desk:security": ("GET", {SECURITY}),
    "security_desk:sign_in_code": ("GET", STAFF),
    "staff:api_tokens": ("GET", {SYSTEM}),
    "audit:finding_queue": ("GET", {AUDITOR}),
    "audit:finding_detail": ("GET", {AUDITOR}),
    "audit:case_archive": ("GET", {AUDITOR, TEAM_LEAD}),
    "audit:audit_log": ("GET", {AUDIT_ADMIN}),
    "cases:inbox": ("GET", {REVIEWER, APPROVER}),
    "cases:inbox_tasks": ("GET", {REVIEWER, APPROVER}),
    "cases:task_detail": ("GET", {REVIEWER}),
    "cases:task_decide": ("POST", {REVIEWER}),
    "risk:pool": ("GET", {TEAM_LEAD}),
    "risk:pool_availability": ("POST", {TEAM_LEAD}),
    "risk:recusal": ("GET", STAFF),
    "risk:recusal_overview": ("GET", {TEAM_LEAD, SECURITY}),
    "risk:recusal_own_id_clear": ("POST", {SECURITY}),
    "draws:draw_days": ("GET", {AUDITOR}),
    "draws:draw_bundle": ("GET", {AUDITOR}),
    "evaluation:dashboard": ("GET", {TEAM_LEAD, WINDOW_LEAD}),
    "evaluation:dashboard_live": ("GET", {TEAM_LEAD, WINDOW_LEAD}),
    "evaluation:report": ("GET", {TEAM_LEAD, WINDOW_LEAD, AUDITOR}),
    "evaluation:report_export": ("GET", {TEAM_LEAD, WINDOW_LEAD, AUDITOR}),
    "evaluation:evaluation_list": ("GET", EVALUATED),
    "evaluation:evaluation_export": ("GET", EVALUATED),
    "evaluation:evaluation_weights": ("GET", {TEAM_LEAD}),
    "evaluation:catalog_offer": ("GET", {TEAM_LEAD}),
    "evaluation:evaluation_sheet": ("GET", {TEAM_LEAD, WINDOW_LEAD, CLERK}),
    "appointments:book": ("GET", EVERYONE),
    "appointments:booked": ("GET", EVERYONE),
    "appointments:cancel": ("GET", EVERYONE),
    "appointments:kiosk_check_in": ("GET", NOBODY),
    "appointments:capacities": ("GET", {TEAM_LEAD}),
    "operations:healthz": ("GET", EVERYONE),
    # Only from METRICS_ALLOWED_NETWORKS or with METRICS_TOKEN (neither set here): no person.
    "operations:metrics": ("GET", NOBODY),
    "operations:retention_due": ("GET", {TEAM_LEAD, AUDITOR}),
    "operations:retention_history": ("GET", {TEAM_LEAD, AUDITOR}),
    "operations:retention_propose": ("POST", {TEAM_LEAD, AUDITOR}),
    "operations:retention_approve": ("POST", {TEAM_LEAD, AUDITOR}),
    "operations:retention_decline": ("POST", {TEAM_LEAD, AUDITOR}),
    "operations:retention_withdraw": ("POST", {TEAM_LEAD, AUDITOR}),
    "operations:hall_banner": ("GET", {TEAM_LEAD, WINDOW_LEAD}),
    # Here (the web workers) it tells every screen to keep polling (204); the streams of
    # the ASGI process answer only whom the screen's own poll answers (tests/push).
    "push:events": ("GET", EVERYONE),
}
# Not about permissions: anyone may sign out or pick a language; the admin site has its
# own permission system (staff flag and model permissions), tested in staff tests;
# /readyz is open to probes and answers 503 while the worker is not running (as here).
UNCHECKED = {"logout", "set_language", "operations:readyz"}


def _url_names():
    def walk(patterns, namespace=None):
        for pattern in patterns:
            if isinstance(pattern, URLResolver):
                if pattern.namespace == "admin":
                    continue
                yield from walk(pattern.url_patterns, pattern.namespace or namespace)
            elif isinstance(pattern, URLPattern) and pattern.name:
                yield f"{namespace}:{pattern.name}" if namespace else pattern.name

    return set(walk(get_resolver().url_patterns))


def test_every_url_is_in_the_table():
    assert _url_names() - UNCHECKED - set(TABLE) == set()
    assert set(TABLE) - _url_names() == set()


@pytest.fixture
def people(hall, django_capture_on_commit_callbacks):
    clerk, reviewer, approver = hall.li_na, hall.zhou, hall.ma
    services.window_sign_on(clerk=clerk, window_id=hall.window.pk)
    services.window_declare_ready(clerk=clerk)
    ticket = services.ticket_issue(item=hall.item)
    with django_capture_on_commit_callbacks(execute=True):
        case = case_services.case_accept(
            clerk=clerk,
            item_id=hall.item.pk,
            applicant_name="王大山",
            id_number=make_id_number(),
            received_material_ids={hall.material.pk},
        )
    task = review_task_draw(task_id=case.tasks.get().pk)
    assert task.assignee == reviewer
    services.ticket_finish(clerk=clerk)
    rating = rating_services.rating_submit(
        ticket_id=ticket.pk, level=1, reason="太慢", window=hall.window
    )
    document = CaseDocument.objects.create(
        case=case,
        display_name="材料1-身份证.pdf",
        file=ContentFile(b"%PDF-1.4 test", name="scan.pdf"),
        content_type="application/pdf",
        size=13,
        sha256="0" * 64,
        uploaded_by=clerk,
    )
    finding = Finding.objects.create(rule="sample", severity="low", case=case, dedupe_key="t:1")
    device = HallDevice.objects.create(kind=HallDevice.Kind.KIOSK, name="new kiosk")
    link = hall_device_link_issue(device_id=device.pk, actor=None, reason="test")
    people = {
        ANON: None,
        CLERK: clerk,
        REVIEWER: reviewer,
        APPROVER: approver,
        TEAM_LEAD: make_staff(Role.TEAM_LEAD),
        WINDOW_LEAD: make_staff(Role.WINDOW_LEAD, window_team=hall.window.zone),
        AUDITOR: make_staff(Role.AUDITOR),
        SYSTEM: make_staff(Role.SYSTEM_ADMINISTRATOR),
        SECURITY: make_staff(Role.SECURITY_ADMINISTRATOR),
        AUDIT_ADMIN: make_staff(Role.AUDIT_ADMINISTRATOR),
    }
    # A destruction proposal to decide (the reason is missing, so nothing is decided).
    decision = DestructionDecision.objects.create(
        case=case, retention="10y", retention_ended=datetime.date(2000, 1, 1),
        proposed_by=people[TEAM_LEAD], proposed_role=TEAM_LEAD, proposal_reason="test",
        proposed_at=timezone.now(),
    )  # fmt: skip
    kwargs = {
        "decision_id": decision.pk,
        "code": hall.item.code,
        "case_id": case.pk,
        "task_id": task.pk,
        "ticket_id": ticket.pk,
        "follow_up_id": FollowUp.objects.get(rating=rating).pk,
        "finding_id": finding.pk,
        "document_id": document.pk,
        "user_id": clerk.pk,
    }
    special = {
        "ratings:ticket_page": {"token": Ticket.objects.get(pk=ticket.pk).public_token},
        "api-ticket": {"token": ticket.public_token},
        "api-ticket-cancel": {"token": ticket.public_token},
        "api-ticket-rating": {"token": ticket.public_token},
        "api-handling-appeal": {
            "token": ticket.public_token,
            "follow_up_id": kwargs["follow_up_id"],
        },
        # No appeal exists: the empty body is refused before the appeal is looked up.
        "api-appeal-decision": {"appeal_id": 1},
        "devices:device_register": {"token": link},
    }
    return people, kwargs, special


def _url(name: str, kwargs: dict, special: dict) -> str:
    from django.urls import NoReverseMatch

    wanted = special.get(name, kwargs)
    for size in range(len(wanted), -1, -1):
        from itertools import combinations

        for keys in combinations(wanted, size):
            try:
                return reverse(name, kwargs={key: wanted[key] for key in keys})
            except NoReverseMatch:
                continue
    raise AssertionError(f"cannot build {name}")


def _refused(response) -> bool:
    if response.status_code in (401, 403, 404):
        return True
    location = response.get("Location", "")
    return response.status_code == 302 and location.startswith(reverse("login"))


def test_each_url_admits_exactly_its_roles(people):
    persons, kwargs, special = people
    # One signed-in client per role for the whole table: signing in again for each URL
    # cost most of this test's time.
    clients = {}
    for role, person in persons.items():
        clients[role] = Client()
        if person is not None:
            sign_in(clients[role], person)
    wrong = []
    for name, (method, allowed) in sorted(TABLE.items()):
        url = _url(name, kwargs, special)
        for role in persons:
            client = clients[role]
            if method == "GET":
                response = client.get(url)
            elif url.startswith("/api/"):
                response = client.post(url, "{}", content_type="application/json")
            else:
                response = client.post(url, {})
            assert response.status_code < 500, (name, role, response.status_code)
            # Only the sign-in carries over to the next URL, never a device cookie.
            for cookie in set(client.cookies) - {settings.SESSION_COOKIE_NAME}:
                del client.cookies[cookie]
            if _refused(response) == (role in allowed):
                wrong.append(f"{name} {role}: {response.status_code}")
    assert wrong == [], "\n".join(wrong)
