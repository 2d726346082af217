"""The sign-in code: a password someone else set opens nothing before the code the
security administrator gives its person, so that neither the administrator who set it nor
the one who gives codes can sign in as another person alone."""

import datetime
import time

import pytest
from django.core.exceptions import PermissionDenied
from django.db import IntegrityError, transaction
from django.test import Client
from django.urls import reverse
from django.utils import timezone
from django_otp.plugins.otp_totp.models import TOTPDevice

from audit.models import AuditEvent
from audit.refusals import refusals_recorded_after
from security_desk.models import SignInCode
from security_desk.services import WRONG_ENTRIES_ALLOWED, sign_in_code_enter, sign_in_code_issue
from staff import services as staff_services
from staff.roles import Role
from staff.scope import AnotherAgency
from tests.factories import make_agency, make_site, make_staff, sign_in

pytestmark = pytest.mark.django_db
RESET = "Reset-pass-456"
S = SignInCode.Status


@pytest.fixture
def system():
    return make_staff(Role.SYSTEM_ADMINISTRATOR)


@pytest.fixture
def security():
    return make_staff(Role.SECURITY_ADMINISTRATOR)


def _reset(user, system) -> None:
    staff_services.password_set(user=user, password=RESET, set_by=system)


def _awaiting(user, system):
    """`user`, their password set by the system administrator: awaiting a code."""
    _reset(user, system)
    return user


def _signed_in_with(user, password=RESET) -> Client:
    browser = Client()
    answer = browser.post(reverse("login"), {"username": user.username, "password": password})
    assert answer.status_code == 302, "the password is right"
    return browser


def _goes_to(answer, name: str) -> bool:
    return answer.status_code == 302 and answer.url.startswith(reverse(name))


# --- What a password someone else set opens -------------------------------------------------


def test_a_password_the_system_administrator_set_opens_no_page_before_the_code(system):
    reviewer = make_staff(Role.REVIEWER)
    _reset(reviewer, system)
    browser = _signed_in_with(reviewer)
    for page in ("cases:inbox", "staff:account", "staff:password_change", "home"):
        assert _goes_to(browser.get(reverse(page)), "security_desk:sign_in_code"), page
    api = browser.get(reverse("api-notifications"))
    assert api.status_code == 403
    assert api.json()["error"]["code"] == "account_action_required"


def test_the_authenticators_enrolment_is_not_shown_before_the_code(system):
    approver = make_staff(Role.APPROVER)  # a role that confirms every sign-in
    _reset(approver, system)
    browser = _signed_in_with(approver)
    answer = browser.get(reverse("staff:two_factor"))
    assert _goes_to(answer, "security_desk:sign_in_code")
    assert not TOTPDevice.objects.filter(user=approver).exists()  # no key made to scan


def test_the_code_opens_the_session_and_then_a_password_of_ones_own_is_chosen(system, security):
    clerk = make_staff(Role.CLERK)
    _reset(clerk, system)
    browser = _signed_in_with(clerk)
    code, _expires = sign_in_code_issue(user=clerk, issued_by=security)
    page = browser.get(reverse("security_desk:sign_in_code"))
    assert page.status_code == 200 and 'name="code"' in page.content.decode()
    answer = browser.post(
        reverse("security_desk:sign_in_code"),
        {"code": f"{code[:4]} {code[4:]}", "next": reverse("counters:workbench")},
    )
    assert answer.status_code == 302 and answer.url == reverse("counters:workbench")
    assert _goes_to(browser.get(reverse("counters:workbench")), "staff:password_change")
    mine = "Own-choice-789x"
    browser.post(
        reverse("staff:password_change"),
        {"old_password": RESET, "new_password1": mine, "new_password2": mine},
    )
    assert browser.get(reverse("counters:workbench")).status_code == 200
    # Their own password asks for no code, in a new session too.
    assert _signed_in_with(clerk, mine).get(reverse("counters:workbench")).status_code == 200


def test_the_code_serves_only_the_session_it_was_entered_in(system, security):
    clerk = make_staff(Role.CLERK)
    _reset(clerk, system)
    person = _signed_in_with(clerk)
    code, _expires = sign_in_code_issue(user=clerk, issued_by=security)
    person.post(reverse("security_desk:sign_in_code"), {"code": code})
    assert _goes_to(person.get(reverse("counters:workbench")), "staff:password_change")
    # The administrator who set the password, signing in with it meanwhile, is asked too,
    # and the code is spent.
    administrator = _signed_in_with(clerk)
    assert _goes_to(administrator.get(reverse("counters:workbench")), "security_desk:sign_in_code")
    administrator.post(reverse("security_desk:sign_in_code"), {"code": code})
    assert _goes_to(administrator.get(reverse("counters:workbench")), "security_desk:sign_in_code")


def test_a_wrong_code_is_refused_and_recorded(system, security):
    clerk = make_staff(Role.CLERK)
    _reset(clerk, system)
    browser = _signed_in_with(clerk)
    code, _expires = sign_in_code_issue(user=clerk, issued_by=security)
    wrong = str((int(code) + 1) % 10**8).zfill(8)
    page = browser.post(reverse("security_desk:sign_in_code"), {"code": wrong})
    assert page.status_code == 200 and "alert" in page.content.decode()
    assert _goes_to(browser.get(reverse("counters:workbench")), "security_desk:sign_in_code")
    event = AuditEvent.objects.get(event_type="auth.sign_in_code_refused")
    assert (event.actor_id, event.outcome, event.data) == (
        clerk.pk,
        AuditEvent.Outcome.REFUSED,
        {"wrong_entries": 1},
    )


def test_ones_own_password_asks_for_no_code():
    clerk = make_staff(Role.CLERK)
    browser = _signed_in_with(clerk, "Demo-pass-123")
    assert browser.get(reverse("counters:workbench")).status_code == 200
    assert _goes_to(browser.get(reverse("security_desk:sign_in_code")), "home")


# --- The code itself ------------------------------------------------------------------------


def test_a_code_is_kept_only_as_a_keyed_digest(security, system):
    clerk = _awaiting(make_staff(Role.CLERK), system)
    code, _expires = sign_in_code_issue(user=clerk, issued_by=security)
    stored = SignInCode.objects.get(user=clerk)
    assert len(code) == 8 and code.isdigit()
    assert code not in stored.digest and len(stored.digest) == 64
    event = AuditEvent.objects.get(event_type="auth.sign_in_code_issued")
    assert (event.actor_id, event.object_id) == (security.pk, str(clerk.pk))
    assert code not in str(event.data)


def test_a_code_works_once(security, system):
    clerk = _awaiting(make_staff(Role.CLERK), system)
    code, _expires = sign_in_code_issue(user=clerk, issued_by=security)
    assert sign_in_code_enter(user=clerk, code=code)
    assert not sign_in_code_enter(user=clerk, code=code)
    assert SignInCode.objects.get(user=clerk).status == S.USED
    assert AuditEvent.objects.filter(event_type="auth.sign_in_code_used", actor=clerk).count() == 1


def test_a_new_code_ends_the_one_before(security, system):
    clerk = _awaiting(make_staff(Role.CLERK), system)
    first, _expires = sign_in_code_issue(user=clerk, issued_by=security)
    second, _expires = sign_in_code_issue(user=clerk, issued_by=security)
    assert [code.status for code in SignInCode.objects.filter(user=clerk).order_by("pk")] == [
        S.REPLACED,
        S.OPEN,
    ]
    assert first == second or not sign_in_code_enter(user=clerk, code=first)
    assert sign_in_code_enter(user=clerk, code=second)


def test_an_expired_code_is_refused(security, system, settings):
    clerk = _awaiting(make_staff(Role.CLERK), system)
    code, expires_at = sign_in_code_issue(user=clerk, issued_by=security)
    assert expires_at - timezone.now() <= datetime.timedelta(hours=settings.SIGN_IN_CODE_HOURS)
    SignInCode.objects.filter(user=clerk).update(expires_at=timezone.now())
    assert not sign_in_code_enter(user=clerk, code=code)


def test_too_many_wrong_entries_end_the_code(security, system):
    clerk = _awaiting(make_staff(Role.CLERK), system)
    code, _expires = sign_in_code_issue(user=clerk, issued_by=security)
    wrong = str((int(code) + 1) % 10**8).zfill(8)
    for _ in range(WRONG_ENTRIES_ALLOWED - 1):
        assert not sign_in_code_enter(user=clerk, code=wrong)
    assert SignInCode.objects.get(user=clerk).status == S.OPEN
    assert not sign_in_code_enter(user=clerk, code=wrong)
    assert SignInCode.objects.get(user=clerk).status == S.REFUSED
    assert not sign_in_code_enter(user=clerk, code=code)  # ended: the right one too


def test_the_database_holds_one_open_code_per_person(security, system):
    clerk = _awaiting(make_staff(Role.CLERK), system)
    sign_in_code_issue(user=clerk, issued_by=security)
    now = timezone.now()
    with pytest.raises(IntegrityError), transaction.atomic():
        SignInCode.objects.create(
            user=clerk,
            digest="0" * 64,
            issued_by=security,
            issued_at=now,
            expires_at=now,
            password_record_id=SignInCode.objects.get(user=clerk).password_record_id,
        )


# --- Who gives codes ------------------------------------------------------------------------


def test_the_system_administrator_who_sets_passwords_gives_no_code_and_is_recorded(system, root):
    clerk = make_staff(Role.CLERK)
    staff_services.password_must_change(user=clerk, set_by=root)
    with refusals_recorded_after(), pytest.raises(PermissionDenied):
        sign_in_code_issue(user=clerk, issued_by=system)
    assert not SignInCode.objects.exists()
    refusal = AuditEvent.objects.get(event_type="power.refused")
    assert refusal.data["tried"] == "sign_in_code_issue" and refusal.actor_id == system.pk


def test_nobody_gives_a_code_for_their_own_account_and_the_refusal_is_recorded(security, root):
    with refusals_recorded_after(), pytest.raises(PermissionDenied):
        sign_in_code_issue(user=security, issued_by=security)
    with pytest.raises(PermissionDenied):
        sign_in_code_issue(user=root, issued_by=root)
    refusal = AuditEvent.objects.get(event_type="power.refused", actor=security)
    assert (refusal.data["tried"], refusal.data["reason"]) == ("sign_in_code_issue", "own_account")


def test_whoever_set_the_password_gives_no_code_for_it(root):
    """One person would hold both halves: the superuser sets an account's password, and
    a security administrator who once set one as system administrator is no exception."""
    person = make_staff(Role.CLERK)
    root_client = Client()
    sign_in(root_client, root)
    root_client.post(
        reverse("admin:auth_user_password_change", args=[person.pk]),
        {"password1": RESET, "password2": RESET, "usable_password": "true"},
    )
    with refusals_recorded_after(), pytest.raises(PermissionDenied):
        sign_in_code_issue(user=person, issued_by=root)
    refusal = AuditEvent.objects.get(event_type="power.refused", actor=root)
    assert refusal.data["reason"] == "set_the_password"
    assert not SignInCode.objects.exists()


def test_an_account_at_no_site_yet_gets_no_code_from_an_agency(security, system):
    from django.core.exceptions import ValidationError

    new = type(system).objects.create_user("newcomer", password=RESET)
    staff_services.password_must_change(user=new, set_by=system)
    with pytest.raises(ValidationError):
        sign_in_code_issue(user=new, issued_by=security)
    assert not SignInCode.objects.exists()


def test_another_agencys_person_is_out_of_reach(security, root):
    theirs = make_staff(Role.CLERK, sites=[make_site(make_agency())])
    staff_services.password_must_change(user=theirs, set_by=root)
    with pytest.raises(AnotherAgency):
        sign_in_code_issue(user=theirs, issued_by=security)


def test_only_the_superuser_gives_a_code_for_a_superusers_account(security, root):
    other_root = type(root).objects.create_superuser("root2", password="Root-pass-456")
    third = type(root).objects.create_superuser("root3", password="Root-pass-789")
    staff_services.password_must_change(user=other_root, set_by=third)
    with pytest.raises(PermissionDenied):
        sign_in_code_issue(user=other_root, issued_by=security)
    code, _expires = sign_in_code_issue(user=other_root, issued_by=root)
    assert sign_in_code_enter(user=other_root, code=code)


# --- The desk and the API -------------------------------------------------------------------


def test_the_desk_shows_a_new_code_once_and_keeps_it_from_caches(security, system):
    clerk = _awaiting(make_staff(Role.CLERK), system)
    browser = Client()
    sign_in(browser, security)
    page = browser.post(
        reverse("security_desk:security"), {"action": "sign_in_code", "username": clerk.username}
    )
    assert page.status_code == 200 and page["Cache-Control"] == "no-store"
    shown = page.content.decode()
    assert 'data-testid="sign-in-code"' in shown and clerk.username in shown
    assert (
        'data-testid="sign-in-code"'
        not in browser.get(reverse("security_desk:security")).content.decode()
    )


def test_the_desk_answers_another_agencys_person_as_absent(security, root):
    theirs = make_staff(Role.CLERK, sites=[make_site(make_agency())])
    staff_services.password_must_change(user=theirs, set_by=root)
    browser = Client()
    sign_in(browser, security)
    answers = [
        browser.post(
            reverse("security_desk:security"), {"action": "sign_in_code", "username": name},
            follow=True,
        ).context["messages"]
        for name in (theirs.username, "nobody-such")
    ]  # fmt: skip
    assert [[str(m) for m in answer] for answer in answers] == [["无此用户。"]] * 2
    assert not SignInCode.objects.exists()


def _code_asked(asker, username: str):
    browser = Client()
    sign_in(browser, asker)
    return browser.post(
        reverse("api-sign-in-code"), {"username": username}, content_type="application/json"
    )


def test_the_api_gives_a_code_in_its_answer_only(security, system):
    clerk = _awaiting(make_staff(Role.CLERK), system)
    answer = _code_asked(security, clerk.username)
    assert answer.status_code == 201 and answer["Cache-Control"] == "no-store"
    assert sign_in_code_enter(user=clerk, code=answer.json()["code"])


def test_the_api_refuses_a_clerk(security):
    clerk = make_staff(Role.CLERK)
    assert _code_asked(clerk, clerk.username).status_code == 403
    assert not SignInCode.objects.exists()


@pytest.fixture
def root(db):
    from django.contrib.auth import get_user_model

    return get_user_model().objects.create_superuser("root", password="Root-pass-123")


def test_the_installing_superuser_gives_the_first_codes_from_the_command_line(root):
    from io import StringIO

    from django.core.management import call_command
    from django.core.management.base import CommandError

    security = make_staff(Role.SECURITY_ADMINISTRATOR)
    staff_services.password_must_change(user=security, set_by=root)  # as the admin's add form
    out = StringIO()
    call_command("sign_in_code", security.username, by=root.username, stdout=out)
    code = out.getvalue().split(": ", 1)[1].split(" (")[0].replace(" ", "")
    assert sign_in_code_enter(user=security, code=code)
    assert AuditEvent.objects.get(event_type="auth.sign_in_code_issued").actor_id == root.pk
    with pytest.raises(CommandError):  # only a superuser signs for it
        call_command("sign_in_code", security.username, by=security.username, stdout=out)


def test_a_reset_drops_an_authenticator_key_never_confirmed(system):
    approver = make_staff(Role.APPROVER)
    staff_services.second_factor_device(approver)  # shown once, never confirmed
    _reset(approver, system)
    assert not TOTPDevice.objects.filter(user=approver).exists()


def test_entering_the_code_gives_the_session_a_new_key(system, security):
    clerk = make_staff(Role.CLERK)
    _reset(clerk, system)
    browser = _signed_in_with(clerk)
    before = browser.session.session_key
    code, _expires = sign_in_code_issue(user=clerk, issued_by=security)
    browser.post(reverse("security_desk:sign_in_code"), {"code": code})
    assert browser.session.session_key != before


def test_the_code_page_keeps_the_sessions_idle_limit(system, settings):
    from staff.middleware import LAST_ACTIVE_AT

    clerk = make_staff(Role.CLERK)
    _reset(clerk, system)
    browser = _signed_in_with(clerk)
    session = browser.session
    session[LAST_ACTIVE_AT] = time.time() - settings.SESSION_IDLE_SECONDS - 1
    session.save()
    assert _goes_to(browser.get(reverse("security_desk:sign_in_code")), "login")


def test_tries_beyond_ten_an_hour_are_refused_before_any_code_is_read(system, security):
    clerk = make_staff(Role.CLERK)
    _reset(clerk, system)
    browser = _signed_in_with(clerk)
    for _ in range(10):
        browser.post(reverse("security_desk:sign_in_code"), {"code": "00000000"})
    code, _expires = sign_in_code_issue(user=clerk, issued_by=security)
    browser.post(reverse("security_desk:sign_in_code"), {"code": code})
    assert _goes_to(browser.get(reverse("counters:workbench")), "security_desk:sign_in_code")
    assert SignInCode.objects.get(user=clerk).status == S.OPEN  # not read, not spent
    assert AuditEvent.objects.filter(event_type="auth.sign_in_code_refused").count() == 10


@pytest.mark.django_db(transaction=True)
def test_a_wrong_entry_is_committed_with_its_event():
    system = make_staff(Role.SYSTEM_ADMINISTRATOR)
    security = make_staff(Role.SECURITY_ADMINISTRATOR)
    clerk = make_staff(Role.CLERK)
    _reset(clerk, system)
    code, _expires = sign_in_code_issue(user=clerk, issued_by=security)
    browser = _signed_in_with(clerk)
    wrong = str((int(code) + 1) % 10**8).zfill(8)
    browser.post(reverse("security_desk:sign_in_code"), {"code": wrong})
    assert SignInCode.objects.get(user=clerk).wrong_entries == 1
    assert AuditEvent.objects.filter(event_type="auth.sign_in_code_refused", actor=clerk).exists()


def test_no_code_is_given_for_a_password_that_is_the_persons_own(security):
    from django.core.exceptions import ValidationError

    clerk = make_staff(Role.CLERK)
    with pytest.raises(ValidationError):
        sign_in_code_issue(user=clerk, issued_by=security)
    assert not SignInCode.objects.exists()


def test_a_code_given_before_a_later_reset_opens_nothing(system, security):
    """Its giver may since have become the one who resets: a code serves the password it
    was given for."""
    clerk = _awaiting(make_staff(Role.CLERK), system)
    code, _expires = sign_in_code_issue(user=clerk, issued_by=security)
    staff_services.password_set(user=clerk, password="Reset-again-789", set_by=system)
    assert not sign_in_code_enter(user=clerk, code=code)


def test_a_partial_refresh_or_a_poll_of_an_awaiting_session_is_sent_to_the_code_page(system):
    clerk = _awaiting(make_staff(Role.CLERK), system)
    browser = _signed_in_with(clerk)
    partial = browser.get(reverse("counters:workbench"), headers={"HX-Request": "true"})
    assert partial.status_code == 204
    assert partial["HX-Redirect"].startswith(reverse("security_desk:sign_in_code"))
    poll = browser.get(reverse("counters:workbench"), headers={"X-Poll": "1"})
    assert _goes_to(poll, "security_desk:sign_in_code")


def test_the_desk_lists_who_waits_for_a_code_with_who_set_their_password(system, security, root):
    waiting = _awaiting(make_staff(Role.CLERK, name="等候者"), system)
    given = _awaiting(make_staff(Role.REVIEWER), system)
    sign_in_code_issue(user=given, issued_by=security)
    own = make_staff(Role.CLERK)  # their own password: nothing awaited
    theirs = make_staff(Role.CLERK, sites=[make_site(make_agency())])
    staff_services.password_must_change(user=theirs, set_by=root)
    from security_desk.selectors import accounts_awaiting_code

    listed = {person.username: person for person in accounts_awaiting_code(security)}
    assert set(listed) == {waiting.username, given.username}
    assert listed[waiting.username].set_by_name == system.username
    assert (listed[waiting.username].code_given, listed[given.username].code_given) == (False, True)
    browser = Client()
    sign_in(browser, security)
    page = browser.get(reverse("security_desk:security")).content.decode()
    assert "等候者" in page and own.username not in page and theirs.username not in page
