"""Login protection, sessions, the second factor and 三员分立 (req. 1–4, 6, 7, 19)."""

import datetime
import logging
import re
import time
from pathlib import Path

import pytest
from django.contrib.auth.models import Group
from django.contrib.sessions.models import Session
from django.core.exceptions import PermissionDenied, ValidationError
from django.db import DatabaseError, connection, transaction
from django.test.utils import CaptureQueriesContext
from django.urls import reverse
from django.utils import timezone

from audit.models import AuditEvent
from staff import passwords, services
from staff.middleware import LAST_ACTIVE_AT, SIGNED_IN_AT
from staff.models import PasswordRecord
from staff.roles import Role
from tests.factories import make_staff, sign_in, totp_code

pytestmark = pytest.mark.django_db
PASSWORD = "Demo-pass-123"
TEMPLATES = Path(__file__).resolve().parents[2] / "templates"


def _post_login(client, username, password):
    return client.post(reverse("login"), {"username": username, "password": password})


# --- Passwords ---------------------------------------------------------------------------


@pytest.mark.parametrize("weak", ["short1A", "alllowercase", "lowercase123", "NOLOWER-SYMBOL"])
def test_passwords_need_eight_characters_and_three_classes(weak):
    with pytest.raises(ValidationError):
        make_staff(Role.CLERK, password=weak) if False else services.staff_member_create(
            username="weak", password=weak, display_name="x", employee_number="W1", roles=[]
        )


def test_a_generated_password_too_like_the_account_name_is_drawn_again(monkeypatch):
    # 'neoyablm_a2gns4udb' shares most of its letters with 'nanbu_lead' (the similarity
    # rule refuses it): the demo set-up once failed on such a draw
    draws = iter(["nEoYAbLM_a2gNs4Udb", "Qx7-kTz2mPw9"])
    monkeypatch.setattr(passwords, "_password_candidate", lambda: next(draws))
    password = passwords.password_generate("nanbu_lead")
    assert password == "Qx7-kTz2mPw9"
    services.staff_member_create(
        username="nanbu_lead",
        password=password,
        display_name="x",
        employee_number="W1",
        roles=[],
    )


def test_none_of_the_last_five_passwords_may_be_reused(client):
    user = make_staff(Role.CLERK)
    sign_in(client, user)
    current = PASSWORD
    for n in range(1, 6):
        new = f"Fresh-pass-{n}x"
        response = client.post(
            reverse("staff:password_change"),
            {"old_password": current, "new_password1": new, "new_password2": new},
        )
        assert response.status_code == 302, response.content.decode()[:500]
        current = new
    reused = client.post(
        reverse("staff:password_change"),
        {
            "old_password": current,
            "new_password1": "Fresh-pass-2x",
            "new_password2": "Fresh-pass-2x",
        },
    )
    assert reused.status_code == 200 and PasswordRecord.objects.filter(user=user).count() == 6


def test_an_expired_password_must_be_changed_before_any_other_page(client, settings):
    user = make_staff(Role.CLERK)
    PasswordRecord.objects.filter(user=user).update(
        set_at=timezone.now() - datetime.timedelta(days=settings.PASSWORD_MAX_AGE_DAYS + 1)
    )
    sign_in(client, user)
    response = client.get(reverse("counters:workbench"))
    assert response.status_code == 302
    assert response.url.startswith(reverse("staff:password_change"))
    client.post(
        reverse("staff:password_change"),
        {
            "old_password": PASSWORD,
            "new_password1": "Brand-new-77",
            "new_password2": "Brand-new-77",
        },
    )
    assert client.get(reverse("counters:workbench")).status_code == 200


# --- Lockout -------------------------------------------------------------------------------


def test_five_failed_sign_ins_lock_the_account_and_the_lockout_is_audited(client):
    user = make_staff(Role.CLERK)
    for _ in range(5):
        _post_login(client, user.username, "Wrong-pass-1")
    locked = _post_login(client, user.username, PASSWORD)
    assert locked.status_code == 429
    assert "_auth_user_id" not in client.session
    assert AuditEvent.objects.filter(event_type="auth.locked_out").count() >= 1


def test_the_security_administrator_unlocks_an_account(client):
    user = make_staff(Role.CLERK)
    for _ in range(5):
        _post_login(client, user.username, "Wrong-pass-1")
    security = make_staff(Role.SECURITY_ADMINISTRATOR)
    admin_client = client.__class__()
    sign_in(admin_client, security)
    page = admin_client.get(reverse("security_desk:security")).content.decode()
    assert user.username in page
    admin_client.post(
        reverse("security_desk:security"), {"action": "unlock", "username": user.username}
    )
    assert _post_login(client, user.username, PASSWORD).status_code == 302
    assert AuditEvent.objects.filter(event_type="auth.unlocked", actor=security).exists()


# --- Sessions --------------------------------------------------------------------------------


def test_an_idle_session_ends(client, settings):
    assert settings.SESSION_COOKIE_AGE == 20 * 60
    sign_in(client, make_staff(Role.CLERK))
    Session.objects.update(expire_date=timezone.now() - datetime.timedelta(seconds=1))
    response = client.get(reverse("counters:workbench"))
    assert response.status_code == 302 and response.url.startswith(reverse("login"))


def test_a_screens_automatic_refresh_does_not_keep_an_idle_session_alive(client, settings):
    clerk = make_staff(Role.CLERK)
    sign_in(client, clerk)
    client.get(reverse("home"))
    session = client.session
    session[LAST_ACTIVE_AT] = time.time() - 60
    session.save()
    poll = {"HTTP_X_POLL": "1", "HTTP_HX_REQUEST": "true"}
    client.get(reverse("counters:workbench_panel"), **poll)
    assert abs(client.session[LAST_ACTIVE_AT] - (time.time() - 60)) < 5, "a poll is no activity"
    session = client.session
    session[LAST_ACTIVE_AT] = time.time() - settings.SESSION_IDLE_SECONDS - 1
    session.save()
    response = client.get(reverse("counters:workbench_panel"), **poll)
    assert response.status_code == 204 and response["HX-Redirect"] == reverse("login")
    assert "_auth_user_id" not in client.session


def test_a_screens_poll_writes_nothing_to_the_session_store(client):
    sign_in(client, make_staff(Role.CLERK))
    client.get(reverse("home"))
    expiry = Session.objects.values_list("expire_date", flat=True).get()
    with CaptureQueriesContext(connection) as queries:
        response = client.get(reverse("counters:workbench"), HTTP_X_POLL="1")
    assert response.status_code == 200, "served as ever"
    assert not [q["sql"] for q in queries.captured_queries if "django_session" in q["sql"]
                and not q["sql"].startswith("SELECT")]  # fmt: skip
    assert Session.objects.values_list("expire_date", flat=True).get() == expiry
    assert "sessionid" not in response.cookies, "the cookie is not renewed either"


def test_a_persons_own_request_extends_the_sessions_expiry(client):
    sign_in(client, make_staff(Role.CLERK))
    client.get(reverse("home"))
    session = client.session
    session[LAST_ACTIVE_AT] = time.time() - 90  # written a minute and a half ago
    session.save()
    Session.objects.update(expire_date=timezone.now() + datetime.timedelta(seconds=30))
    client.get(reverse("counters:workbench"))
    expiry = Session.objects.values_list("expire_date", flat=True).get()
    assert expiry > timezone.now() + datetime.timedelta(minutes=19)


def test_a_persons_own_request_counts_as_activity(client):
    sign_in(client, make_staff(Role.CLERK))
    client.get(reverse("home"))
    session = client.session
    session[LAST_ACTIVE_AT] = time.time() - 600
    session.save()
    client.get(reverse("counters:workbench"))
    assert time.time() - client.session[LAST_ACTIVE_AT] < 5


def test_a_persons_request_seconds_after_their_activity_was_written_writes_nothing(client):
    sign_in(client, make_staff(Role.CLERK))
    session = client.session
    session[LAST_ACTIVE_AT] = written = time.time() - 5
    session.save()
    with CaptureQueriesContext(connection) as queries:
        response = client.get(reverse("counters:workbench"))
    assert response.status_code == 200
    assert not [q["sql"] for q in queries.captured_queries if "django_session" in q["sql"]
                and not q["sql"].startswith("SELECT")]  # fmt: skip
    assert client.session[LAST_ACTIVE_AT] == written
    assert "sessionid" not in response.cookies


def test_a_persons_request_a_twentieth_of_the_limit_later_writes_it_again(client, settings):
    sign_in(client, make_staff(Role.CLERK))
    session = client.session
    session[LAST_ACTIVE_AT] = time.time() - settings.SESSION_IDLE_SECONDS / 20 - 1
    session.save()
    client.get(reverse("counters:workbench"))
    assert time.time() - client.session[LAST_ACTIVE_AT] < 5


def test_a_session_ends_eight_hours_after_sign_in_however_active(client, settings):
    sign_in(client, make_staff(Role.CLERK))
    session = client.session
    session[SIGNED_IN_AT] = time.time() - settings.SESSION_ABSOLUTE_SECONDS - 1
    session.save()
    response = client.get(reverse("counters:workbench"))
    assert response.status_code == 302 and response.url.startswith(reverse("login"))
    assert "_auth_user_id" not in client.session


# --- Second factor ---------------------------------------------------------------------------


@pytest.mark.parametrize(
    "role", [Role.TEAM_LEAD, Role.APPROVER, Role.SECURITY_ADMINISTRATOR, Role.AUDIT_ADMINISTRATOR]
)
def test_these_roles_need_the_second_factor_before_any_page(client, role):
    client.force_login(make_staff(role))
    response = client.get("/")
    assert response.status_code == 302 and response.url.startswith(reverse("staff:two_factor"))
    api = client.get("/api/inbox/tasks/")
    assert api.status_code == 403 and api.json()["error"]["code"] == "account_action_required"


def test_a_clerk_needs_no_second_factor(client):
    client.force_login(make_staff(Role.CLERK))
    assert client.get(reverse("counters:workbench")).status_code == 200


def test_enrolling_and_confirming_the_authenticator(client, settings):
    settings.OTP_TOTP_THROTTLE_FACTOR = 0  # django-otp slows retries after a wrong code
    lead = make_staff(Role.TEAM_LEAD)
    client.force_login(lead)
    page = client.get(reverse("staff:two_factor")).content.decode()
    assert 'data-testid="totp-qr"' in page
    wrong = client.post(reverse("staff:two_factor"), {"code": "000000"})
    assert wrong.status_code == 200
    assert client.get("/").status_code == 302
    client.post(reverse("staff:two_factor"), {"code": totp_code(lead)})
    assert client.get(reverse("evaluation:dashboard")).status_code == 200
    outcomes = list(
        AuditEvent.objects.filter(event_type="auth.second_factor").values_list("outcome", flat=True)
    )
    assert outcomes == ["refused", "success"]


# --- 三员分立 --------------------------------------------------------------------------------


def test_no_account_holds_two_administrator_roles(client):
    admin = make_staff(Role.SYSTEM_ADMINISTRATOR)
    with pytest.raises(ValidationError):
        services.role_grant(user=admin, role=Role.AUDIT_ADMINISTRATOR)
    with pytest.raises(ValidationError):  # however the membership is written through Django
        admin.groups.add(Group.objects.get(name=Role.SECURITY_ADMINISTRATOR))


def test_the_database_refuses_a_second_administrator_role_written_in_sql():
    admin = make_staff(Role.SYSTEM_ADMINISTRATOR)
    group = Group.objects.get(name=Role.AUDIT_ADMINISTRATOR)
    with pytest.raises(DatabaseError), transaction.atomic(), connection.cursor() as cursor:
        cursor.execute(
            "INSERT INTO auth_user_groups (user_id, group_id) VALUES (%s, %s)", [admin.pk, group.pk]
        )


def test_only_the_security_administrator_manages_roles_and_never_their_own():
    system = make_staff(Role.SYSTEM_ADMINISTRATOR)
    security = make_staff(Role.SECURITY_ADMINISTRATOR)
    clerk = make_staff(Role.CLERK)
    with pytest.raises(PermissionDenied):
        services.role_grant(user=system, role=Role.TEAM_LEAD, granted_by=system)
    with pytest.raises(PermissionDenied):
        services.role_grant(user=clerk, role=Role.TEAM_LEAD, granted_by=system)
    with pytest.raises(PermissionDenied):
        services.role_grant(user=security, role=Role.TEAM_LEAD, granted_by=security)
    services.role_grant(user=clerk, role=Role.REVIEWER, granted_by=security)
    assert clerk.groups.filter(name=Role.REVIEWER).exists()


def test_only_the_audit_administrator_reads_the_audit_log_and_reading_is_recorded(client):
    for role in (Role.SYSTEM_ADMINISTRATOR, Role.SECURITY_ADMINISTRATOR, Role.AUDITOR):
        sign_in(client, make_staff(role))
        assert client.get(reverse("audit:audit_log")).status_code == 403
    reader = make_staff(Role.AUDIT_ADMINISTRATOR)
    sign_in(client, reader)
    page = client.get(reverse("audit:audit_log"), {"verify": "1"})
    assert 'data-testid="chain-ok"' in page.content.decode()
    assert AuditEvent.objects.filter(event_type="audit.log_read", actor=reader).exists()
    assert client.get(reverse("security_desk:security")).status_code == 403


def test_the_system_administrator_cannot_edit_roles_in_the_admin(client):
    from django.contrib import admin
    from django.contrib.auth import get_user_model
    from django.test import RequestFactory

    system = make_staff(Role.SYSTEM_ADMINISTRATOR)
    request = RequestFactory().get("/admin/")
    request.user = system
    model_admin = admin.site._registry[get_user_model()]
    assert "groups" in model_admin.get_readonly_fields(request, make_staff(Role.CLERK))


def test_a_superuser_sign_in_is_audited(client):
    from django.contrib.auth import get_user_model

    root = get_user_model().objects.create_superuser("root", password="Root-pass-123")
    _post_login(client, "root", "Root-pass-123")
    assert AuditEvent.objects.filter(event_type="auth.superuser_signed_in", actor=root).exists()


# --- Headers and logs --------------------------------------------------------------------------


def test_every_page_carries_a_content_security_policy_without_inline_script(client):
    response = client.get(reverse("login"))
    policy = response["Content-Security-Policy"]
    assert "script-src 'self'" in policy and "unsafe-inline" not in policy
    assert "frame-ancestors 'none'" in policy and response["X-Frame-Options"] == "DENY"


def test_no_template_has_inline_script_handlers_or_styles():
    offenders = []
    for path in TEMPLATES.rglob("*.html"):
        text = path.read_text(encoding="utf-8")
        if re.search(r"<script(?![^>]*\bsrc=)(?![^>]*application/json)[^>]*>", text):
            offenders.append(f"{path.name}: inline <script>")
        if re.search(r"\son[a-z]+\s*=", text) or re.search(r"\sstyle\s*=", text):
            offenders.append(f"{path.name}: inline handler or style")
    assert offenders == []


def test_logs_never_carry_a_full_id_number_or_a_password(caplog):
    from langzhong_si.logfilter import PersonalDataFilter

    logger = logging.getLogger("langzhong_si.test")
    handler_filter = PersonalDataFilter()
    record = logger.makeRecord(
        "x",
        logging.INFO,
        "f",
        1,
        "applicant %s password=%s",
        ("11010519491231002X", "S3cret!x"),
        None,
    )
    handler_filter.filter(record)
    message = record.getMessage()
    assert "11010519491231002X" not in message and "S3cret!x" not in message
    assert "110105" in message
