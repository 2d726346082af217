import functools
import re
import unicodedata
from contextlib import nullcontext

from django.contrib.auth import get_user_model
from django.contrib.auth.models import Group
from django.contrib.auth.password_validation import password_changed, validate_password
from django.core.exceptions import PermissionDenied, ValidationError
from django.db import transaction
from django.utils import timezone
from django.utils.translation import gettext as _
from django_otp.plugins.otp_totp.models import TOTPDevice

from audit.agency import person_agency_ids
from audit.services import audit_event_record
from langzhong_si.batch import audit_batch_add
from langzhong_si.credentials import credential_new
from langzhong_si.saves import record_new
from langzhong_si.text import name_clean
from sites.defaults import home_site_id
from sites.models import Site
from staff import signals as staff_signals  # a module reference: signals imports this one
from staff.models import ApiToken, Notification, PasswordRecord, StaffProfile
from staff.roles import DRAWN_ROLES, SEPARATED_ADMINISTRATOR_ROLES, Role, incompatible_pair
from staff.scope import agency_manager_check, power_refused
from staff.selectors import accounts_to_onboard, needs_second_factor, user_roles

SEPARATED = {role.value for role in SEPARATED_ADMINISTRATOR_ROLES}


def roles_compatible_check(held: set[str]) -> None:
    """Refuse a set of role names holding an incompatible pair (staff.roles)."""
    pair = incompatible_pair(held)
    if pair is None:
        return
    if set(pair) <= SEPARATED:
        raise ValidationError(
            _("One account may hold only one of the three administrator roles."),
            code="administrator_separation",
        )
    first, second = (Role(name).label for name in pair)
    raise ValidationError(
        _("One account may not hold both %(first)s and %(second)s.")
        % {"first": first, "second": second},
        code="incompatible_roles",
    )


def role_manager_check(granted_by, user, *, action: str) -> None:
    """Roles are the security administrator's to manage, never their own (set-up
    scripts pass no one). A refusal is recorded (staff.scope.power_refused)."""
    if granted_by is None:
        return
    refused = functools.partial(power_refused, granted_by, action=action, target=user)
    if Role.SECURITY_ADMINISTRATOR.value not in user_roles(granted_by):
        raise refused(_("Only the security administrator manages roles."), reason="role_not_held")
    if granted_by.pk == user.pk:
        raise refused(_("Nobody changes their own roles."), reason="own_account")
    if user.is_superuser:  # at no site, so in no agency's way: in every agency's reach
        raise refused(_("Only the superuser manages a superuser's account."), reason="superuser")
    agency_manager_check(granted_by, person_agency_ids(user), action=action, target=user)


@transaction.atomic
def role_grant(*, user, role: Role, granted_by=None) -> None:
    """Grant a role. The groups signal (staff.signals) records `role.granted` once, as it
    does for a change made in the admin or in code; a role already held records nothing."""
    role_manager_check(granted_by, user, action="role_grant")
    roles_compatible_check(user_roles(user) | {role.value})
    group, _created = Group.objects.get_or_create(name=role.value)
    with staff_signals.roles_changed_by(granted_by):
        user.groups.add(group)
    user._role_cache = None


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
    sites=None,
):
    display_name = name_clean(display_name, field=_("Display name"))
    validate_password(password, get_user_model()(username=username))
    user = get_user_model().objects.create_user(username=username, password=password)
    password_changed(password, user)  # the first entry of the password history
    staff_profile_create(
        user=user,
        display_name=display_name,
        employee_number=employee_number,
        window_team=window_team,
        sites=sites,
        created_by=created_by,
    )
    for role in roles:
        role_grant(user=user, role=role, granted_by=created_by)
    if created_by is not None:  # the person chooses their own password at first sign-in
        password_must_change(user=user, set_by=created_by)
    return user


def staff_profile_create(
    *, user, display_name: str, employee_number: str, window_team="", sites=None, created_by=None
) -> StaffProfile:
    """An account's staff profile: its name, 工号 and sites (by default the home hall), of
    the creator's own agency; recorded as `staff.created` with the sites. An account made
    in the admin gets its profile through staff_profile_give; staff_member_create makes
    both."""
    chosen = list(sites) if sites else [Site.objects.get(pk=home_site_id())]
    if created_by is not None:  # an account of the administrator's own agency only
        agency_manager_check(
            created_by, {site.agency_id for site in chosen}, action="staff_profile_create",
            target=user,
        )  # fmt: skip
    name = name_clean(display_name, field=_("Display name"))
    number = employee_number_clean(employee_number)
    with transaction.atomic():
        profile = StaffProfile.objects.create(
            user=user, display_name=name, employee_number=number, window_team=window_team
        )
        staff_sites_set(user=user, sites=chosen, changed_by=created_by, event=False)
        created = {"employee_number": number, "sites": sorted(site.code for site in chosen)}
        audit_event_record(event_type="staff.created", actor=created_by, obj=user, data=created)
    return profile


def staff_profile_give(*, user, given_by, **profile) -> StaffProfile:
    """The system administrator gives a staff profile (staff_profile_create's fields) to an
    account made in the admin: one of their agency's new accounts only
    (staff.selectors.accounts_to_onboard); roles follow on the security page."""
    account_manager_check(given_by, user, action="staff_profile_give")
    with transaction.atomic():  # the account locked: no password set between check and profile
        get_user_model().objects.select_for_update().filter(pk=user.pk).first()
        if not accounts_to_onboard(given_by).filter(pk=user.pk).exists():
            raise PermissionDenied(_("Only your agency's new accounts get a staff profile here."))
        return staff_profile_create(user=user, created_by=given_by, **profile)


def staff_sites_check(sites) -> None:
    """Refuse no site, or sites of more than one agency."""
    if len({site.agency_id for site in sites}) != 1:
        raise ValidationError(
            _("A staff member works at one or more sites of one agency."), code="sites"
        )


def staff_sites_set(*, user, sites=None, changed_by=None, event: bool = True) -> None:
    """The sites a staff member works at: all in one agency (by default the home agency's
    hall). Who can be drawn where and what a person sees follow from them, so every
    change is the system administrator's (as accounts are) and an audit event; the same
    sites again change nothing."""
    chosen = list(sites) if sites else [Site.objects.get(pk=home_site_id())]
    staff_sites_check(chosen)
    if event:
        account_manager_check(changed_by, user, action="staff_sites_set")
        agency_manager_check(
            changed_by, {site.agency_id for site in chosen}, action="staff_sites_set", target=user
        )
    profile = user.staff_profile
    before = dict(profile.sites.values_list("pk", "code"))
    with transaction.atomic():
        profile.sites.set(chosen)
        # staff.scope remembers the scope, and the sites read with the account, on the
        # user object.
        user._site_scope = user._sites_read = None
        if event and set(before) != {site.pk for site in chosen}:
            audit_event_record(
                event_type="staff.sites_changed",
                actor=changed_by,
                obj=user,
                data={
                    "agency": chosen[0].agency.code,
                    "before": sorted(before.values()),
                    "after": sorted(site.code for site in chosen),
                },
            )


# 工号: what the hall's receipts print and the provincial platforms know a staff member by.
_EMPLOYEE_NUMBER = re.compile(r"[0-9A-Za-z-]{1,16}")


def employee_number_clean(value) -> str:
    number = unicodedata.normalize("NFKC", str(value or "")[:64]).strip()
    if not _EMPLOYEE_NUMBER.fullmatch(number):
        raise ValidationError(
            _("An employee number has 1 to 16 letters, digits or hyphens."),
            code="employee_number",
        )
    return number


def staff_employee_number_set(*, profile: StaffProfile, number: str, changed_by) -> None:
    """Change a staff member's 工号 (the system administrator's right, as for accounts):
    ASCII letters, digits and hyphens, at most 16, unique; the old and new numbers are
    recorded in the audit event. The same number again changes nothing."""
    account_manager_check(changed_by, profile.user, action="staff_employee_number_set")
    number = employee_number_clean(number)
    with transaction.atomic():
        locked = StaffProfile.objects.select_for_update().get(pk=profile.pk)
        old = locked.employee_number
        if old == number:
            return
        if StaffProfile.objects.filter(employee_number=number).exclude(pk=locked.pk).exists():
            raise ValidationError(
                _("The employee number %(number)s belongs to someone else.") % {"number": number},
                code="employee_number_taken",
            )
        locked.employee_number = number
        locked._change_reason = "employee number"
        locked.save(update_fields=["employee_number"])
        audit_event_record(
            event_type="staff.employee_number_changed",
            actor=changed_by,
            obj=locked.user,
            data={"from": old, "to": number},
        )
    profile.employee_number = number


def notification_send(*, recipient, message: str, link: str = "", dedupe_key: str) -> None:
    """Notify a staff member once per business event (the key makes it idempotent:
    one INSERT … ON CONFLICT DO NOTHING, no read, no savepoint). `recipient` is a user
    or a user id."""
    notification = record_new(Notification, recipient_id=getattr(recipient, "pk", recipient),
        message=message[:300], link=link, dedupe_key=dedupe_key[:128])  # fmt: skip
    # Inside a service's batched writes it goes with its audit events, in their statement.
    if not audit_batch_add(notification, once=True):
        Notification.objects.bulk_create([notification], ignore_conflicts=True)


def notifications_mark_read(*, recipient) -> int:
    return Notification.objects.filter(recipient=recipient, read_at__isnull=True).update(
        read_at=timezone.now()
    )


@transaction.atomic
def role_revoke(*, user, role: Role, revoked_by) -> None:
    """Revoke a role; the groups signal records `role.revoked` once (if it was held)."""
    role_manager_check(revoked_by, user, action="role_revoke")
    with staff_signals.roles_changed_by(revoked_by):
        user.groups.remove(*Group.objects.filter(name=role.value))
    user._role_cache = None


def account_unlock(*, username: str, unlocked_by) -> int:
    """The security administrator lifts one account's sign-in lockout before it expires
    (named exactly: an empty name would clear every lockout): an account of their own
    agency's, or one at no site yet (staff.scope.agency_manager_check). Another agency's
    account is, to them, as if it did not exist (and the attempt is recorded)."""
    from axes.utils import reset

    if Role.SECURITY_ADMINISTRATOR.value not in user_roles(unlocked_by):
        raise power_refused(
            unlocked_by, _("Only the security administrator unlocks accounts."),
            reason="role_not_held", action="account_unlock",
        )  # fmt: skip
    username = username.strip()
    if not username:
        raise ValidationError(_("Name the account to unlock."), code="username")
    user = get_user_model().objects.filter(username=username).first()
    if user is None or (user.is_superuser and not unlocked_by.is_superuser):
        raise ValidationError(_("No such user."), code="username")  # a superuser's: its own
    try:
        agency_manager_check(
            unlocked_by, person_agency_ids(user), action="account_unlock", target=user
        )
    except PermissionDenied:
        raise ValidationError(_("No such user."), code="username") from None
    with transaction.atomic():
        cleared = reset(username=username)
        audit_event_record(
            event_type="auth.unlocked",
            actor=unlocked_by,
            obj=user,
            data={"username": username[:150], "attempts_cleared": cleared},
        )
    return cleared


def account_manager_check(actor, user, *, action: str) -> None:
    """Accounts (passwords, activation) are the system administrator's to keep, or the
    installing superuser's; nobody uses this power on their own account. A refusal is
    recorded (staff.scope.power_refused)."""
    if actor is None or not actor.is_authenticated:
        raise PermissionDenied(_("Only the system administrator manages accounts."))
    refused = functools.partial(power_refused, actor, action=action, target=user)
    if not (actor.is_superuser or Role.SYSTEM_ADMINISTRATOR.value in user_roles(actor)):
        raise refused(_("Only the system administrator manages accounts."), reason="role_not_held")
    if actor.pk == user.pk:
        raise refused(_("Use your account page to change your own password."), reason="own_account")
    if user.is_superuser and not actor.is_superuser:  # at no site: every agency's reach
        raise refused(_("Only the superuser manages a superuser's account."), reason="superuser")
    agency_manager_check(actor, person_agency_ids(user), action=action, target=user)


def password_must_change(*, user, set_by) -> None:
    """Record that `set_by` set `user`'s current password: it works for one sign-in,
    which leads straight to choosing a new one (staff.passwords.password_expired), after
    the sign-in code (security_desk). An authenticator key made but never confirmed goes:
    whoever held a password before may have seen it."""
    with transaction.atomic():
        TOTPDevice.objects.filter(user=user, confirmed=False).delete()
        latest = PasswordRecord.objects.filter(user=user).order_by("-set_at", "-pk").first()
        if latest is None or latest.password_hash != user.password:
            latest = PasswordRecord(user=user, password_hash=user.password)
        latest.set_at = timezone.now()
        latest.set_by = set_by
        latest.save()
        audit_event_record(
            event_type="auth.password_set",
            actor=set_by,
            obj=user,
            data={"must_change": True},
        )


def password_set(*, user, password: str, set_by) -> None:
    """Someone else sets a person's password (a reset in the admin): audited, and the
    person must change it at their next sign-in."""
    account_manager_check(set_by, user, action="password_set")
    validate_password(password, user)
    with transaction.atomic():
        locked = get_user_model().objects.select_for_update().get(pk=user.pk)
        locked.set_password(password)
        locked.save(update_fields=["password"])  # the validators' hook records it
        password_must_change(user=locked, set_by=set_by)
    user.password = locked.password


def account_active_set(*, user, active: bool, changed_by) -> None:
    """Enable or disable an account; disabling also ends API access (tokens check it)."""
    account_manager_check(changed_by, user, action="account_active_set")
    with transaction.atomic():
        locked = get_user_model().objects.select_for_update().get(pk=user.pk)
        if locked.is_active == active:
            return
        drawn = {role.value for role in DRAWN_ROLES} & set(
            locked.groups.values_list("name", flat=True)
        )
        announce = (
            staff_signals.eligibility_change(
                actor=changed_by,
                user=locked,
                change="account_activated" if active else "account_deactivated",
            )
            if drawn
            else nullcontext()
        )
        with announce:  # a reviewer or approver enters or leaves the draw pools
            locked.is_active = active
            locked.save(update_fields=["is_active"])
        audit_event_record(
            event_type="account.activated" if active else "account.deactivated",
            actor=changed_by,
            obj=locked,
        )
    user.is_active = active


@transaction.atomic
def second_factor_reset(*, user, reset_by) -> None:
    """Remove a person's authenticator (lost phone): they enrol again at next sign-in."""

    role_manager_check(reset_by, user, action="second_factor_reset")
    if reset_by is None:
        raise PermissionDenied(_("Only the security administrator resets a second factor."))
    TOTPDevice.objects.filter(user=user).delete()
    audit_event_record(event_type="auth.second_factor_reset", actor=reset_by, obj=user)


def second_factor_verify(*, request, code: str) -> bool:
    """Check the code against the person's authenticator (enrolling it on first use)
    and mark the session verified. Failures are audited and throttled."""
    from django_otp import login as otp_login

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

    device = TOTPDevice.objects.filter(user=user).order_by("-confirmed", "pk").first()
    return device or TOTPDevice.objects.create(user=user, name="authenticator", confirmed=False)


def api_token_issue(*, user, issued_by) -> tuple[ApiToken, str]:
    """The system administrator issues an API key to an integration account. Returns the
    stored token and the key, which is shown this once and kept only as a digest."""
    import datetime

    from django.conf import settings

    if issued_by is None:
        raise PermissionDenied(_("Only the system administrator issues API tokens."))
    refused = functools.partial(power_refused, issued_by, action="api_token_issue", target=user)
    if Role.SYSTEM_ADMINISTRATOR.value not in user_roles(issued_by):
        raise refused(_("Only the system administrator issues API tokens."), reason="role_not_held")
    if issued_by.pk == user.pk:
        raise refused(_("Nobody issues a token to their own account."), reason="own_account")
    agency_manager_check(  # another agency's: its own
        issued_by, person_agency_ids(user), action="api_token_issue", target=user
    )
    with transaction.atomic(durable=True):
        user = get_user_model().objects.select_for_update().get(pk=user.pk)
        if Role.INTEGRATION.value not in user_roles(user):
            raise ValidationError(
                _("API tokens are only for integration accounts, never for a person."),
                code="not_integration",
            )
        if user.is_superuser or needs_second_factor(user):
            raise ValidationError(
                _("This account signs in with a second factor; it gets no token."),
                code="second_factor",
            )
        if not user.is_active:
            raise ValidationError(_("This account is disabled."), code="inactive")
        if not person_agency_ids(user):  # else any agency's administrator could key it
            raise ValidationError(
                _("This account works at no site yet; give it its agency's site first."),
                code="no_site",
            )
        key, prefix, digest = credential_new()
        now = timezone.now()
        token = ApiToken.objects.create(
            user=user,
            prefix=prefix,
            digest=digest,
            created_at=now,
            expires_at=now + datetime.timedelta(days=settings.API_TOKEN_DAYS),
            created_by=issued_by,
        )
        audit_event_record(
            event_type="api_token.issued",
            actor=issued_by,
            obj=user,
            data={"token": token.pk, "prefix": token.prefix, "expires_at": token.expires_at},
        )
    return token, key


def api_token_revoke(*, token_id: int, revoked_by) -> ApiToken:
    if revoked_by is None:
        raise PermissionDenied(_("Only the system administrator revokes API tokens."))
    if Role.SYSTEM_ADMINISTRATOR.value not in user_roles(revoked_by):
        raise power_refused(
            revoked_by, _("Only the system administrator revokes API tokens."),
            reason="role_not_held", action="api_token_revoke",
        )  # fmt: skip
    with transaction.atomic(durable=True):
        token = ApiToken.objects.select_for_update().get(pk=token_id)
        agency_manager_check(  # the key, not its account: all the actor named is its number
            revoked_by, person_agency_ids(token.user), action="api_token_revoke", target=token
        )
        if token.revoked_at is not None:
            raise ValidationError(_("This token is already revoked."), code="revoked")
        token.revoked_at = timezone.now()
        token.revoked_by = revoked_by
        token.save(update_fields=["revoked_at", "revoked_by"])
        audit_event_record(
            event_type="api_token.revoked",
            actor=revoked_by,
            obj=token.user,
            data={"token": token.pk, "prefix": token.prefix},
        )
    return token


def superuser_retire(*, username: str) -> None:
    """After installation the superuser is retired: no longer superuser, disabled, no
    usable password. Run from the server's shell (manage.py retire_superuser)."""
    with transaction.atomic(durable=True):
        user = get_user_model().objects.select_for_update().filter(username=username).first()
        if user is None:
            raise ValidationError(_("No such user."), code="username")
        if not user.is_superuser:
            raise ValidationError(_("This account is not a superuser."), code="not_superuser")
        user.is_superuser = False
        user.is_staff = False
        user.is_active = False
        user.set_unusable_password()
        user.save(update_fields=["is_superuser", "is_staff", "is_active", "password"])
        audit_event_record(
            event_type="auth.superuser_retired", obj=user, data={"username": username}
        )
