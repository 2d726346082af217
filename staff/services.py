from django.contrib.auth import get_user_model
from django.contrib.auth.models import Group
from django.contrib.auth.password_validation import password_changed, validate_password
from django.core.exceptions import PermissionDenied, ValidationError
from django.db import transaction
from django.utils import timezone
from django.utils.translation import gettext as _

from audit.services import audit_event_record
from langzhong_si.text import name_clean
from staff.models import Notification, StaffProfile
from staff.roles import SEPARATED_ADMINISTRATOR_ROLES, Role
from staff.selectors import user_roles


def _role_manager_check(granted_by, user) -> None:
    """Roles are the security administrator's to manage, never their own (set-up
    scripts pass no one)."""
    if granted_by is None:
        return
    if Role.SECURITY_ADMINISTRATOR.value not in user_roles(granted_by):
        raise PermissionDenied(_("Only the security administrator manages roles."))
    if granted_by.pk == user.pk:
        raise PermissionDenied(_("Nobody changes their own roles."))


@transaction.atomic
def role_grant(*, user, role: Role, granted_by=None) -> None:
    _role_manager_check(granted_by, user)
    held = user_roles(user) | {role.value}
    if len(held & {r.value for r in SEPARATED_ADMINISTRATOR_ROLES}) > 1:
        raise ValidationError(
            _("One account may hold only one of the three administrator roles."),
            code="administrator_separation",
        )
    group, _created = Group.objects.get_or_create(name=role.value)
    user.groups.add(group)
    user._role_cache = None
    audit_event_record(
        event_type="role.granted", actor=granted_by, obj=user, data={"role": role.value}
    )


@transaction.atomic
def staff_member_create(
    *,
    username: str,
    password: str,
    display_name: str,
    employee_number: str,
    roles: list[Role],
    window_team: str = "",
    created_by=None,
):
    display_name = name_clean(display_name, field=_("Display name"))
    validate_password(password, get_user_model()(username=username))
    user = get_user_model().objects.create_user(username=username, password=password)
    password_changed(password, user)  # the first entry of the password history
    StaffProfile.objects.create(
        user=user,
        display_name=display_name,
        employee_number=employee_number,
        window_team=window_team,
    )
    audit_event_record(
        event_type="staff.created",
        actor=created_by,
        obj=user,
        data={"employee_number": employee_number},
    )
    for role in roles:
        role_grant(user=user, role=role, granted_by=created_by)
    return user


def notification_send(*, recipient, message: str, link: str = "", dedupe_key: str) -> None:
    """Notify a staff member once per business event (the key makes it idempotent)."""
    Notification.objects.get_or_create(
        dedupe_key=dedupe_key[:128],
        defaults={"recipient": recipient, "message": message[:300], "link": link},
    )


def notifications_mark_read(*, recipient) -> int:
    return Notification.objects.filter(recipient=recipient, read_at__isnull=True).update(
        read_at=timezone.now()
    )


@transaction.atomic
def role_revoke(*, user, role: Role, revoked_by) -> None:
    _role_manager_check(revoked_by, user)
    user.groups.remove(*Group.objects.filter(name=role.value))
    user._role_cache = None
    audit_event_record(
        event_type="role.revoked", actor=revoked_by, obj=user, data={"role": role.value}
    )


def account_unlock(*, username: str, unlocked_by) -> int:
    """The security administrator lifts a sign-in lockout before it expires."""
    from axes.utils import reset

    if Role.SECURITY_ADMINISTRATOR.value not in user_roles(unlocked_by):
        raise PermissionDenied(_("Only the security administrator unlocks accounts."))
    with transaction.atomic():
        cleared = reset(username=username)
        audit_event_record(
            event_type="auth.unlocked", actor=unlocked_by, data={"username": username[:150]}
        )
    return cleared


@transaction.atomic
def second_factor_reset(*, user, reset_by) -> None:
    """Remove a person's authenticator (lost phone): they enrol again at next sign-in."""
    from django_otp.plugins.otp_totp.models import TOTPDevice

    _role_manager_check(reset_by, user)
    if reset_by is None:
        raise PermissionDenied(_("Only the security administrator resets a second factor."))
    TOTPDevice.objects.filter(user=user).delete()
    audit_event_record(event_type="auth.second_factor_reset", actor=reset_by, obj=user)


def second_factor_verify(*, request, code: str) -> bool:
    """Check the code against the person's authenticator (enrolling it on first use)
    and mark the session verified. Failures are audited and throttled."""
    from django_otp import login as otp_login
    from django_otp.plugins.otp_totp.models import TOTPDevice

    from audit.models import AuditEvent

    user = request.user
    device = TOTPDevice.objects.filter(user=user).order_by("-confirmed", "pk").first()
    code = code.strip().replace(" ", "")
    verified = bool(device and code.isdigit() and device.verify_token(code))
    with transaction.atomic():
        if verified:
            if not device.confirmed:
                device.confirmed = True
                device.save(update_fields=["confirmed"])
            otp_login(request, device)
        audit_event_record(
            event_type="auth.second_factor",
            actor=user,
            obj=user,
            outcome=AuditEvent.Outcome.SUCCESS if verified else AuditEvent.Outcome.REFUSED,
        )
    return verified


def second_factor_device(user):
    """The person's authenticator, created unconfirmed on first need (enrolment)."""
    from django_otp.plugins.otp_totp.models import TOTPDevice

    device = TOTPDevice.objects.filter(user=user).order_by("-confirmed", "pk").first()
    return device or TOTPDevice.objects.create(user=user, name="authenticator", confirmed=False)
