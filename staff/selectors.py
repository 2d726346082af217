from pathlib import Path

from django.conf import settings
from django.contrib.auth import get_user_model
from django.db.models import Exists, OuterRef, Subquery

from langzhong_si.compiled import raw_first
from langzhong_si.sqltext import sql_text
from staff.roles import Role


def user_roles(user) -> set[str]:
    if not user.is_authenticated:
        return set()
    cached = getattr(user, "_role_cache", None)
    if cached is None:
        cached = set(user.groups.values_list("name", flat=True))
        user._role_cache = cached
    return cached


# The account with its password age, roles and sites in one statement, written out
# (building it through the ORM cost more CPU than running it).
ACCOUNT_STATE_SQL = Path(__file__).with_name("account_state.sql")


def account_copy_key(user_id: int) -> str:
    """The cache key of the account's row copy (langzhong_si.compiled.row_copies: an
    unchanged poll's, operations.pollpath), forgotten with its tokens (staff.api_access)."""
    return f"account-copy:{user_id}"


def user_with_account_state(user_id):
    """The account `user_id` with its latest password record (for the expiry check) and,
    on PostgreSQL, its roles and sites (staff.scope), in one query (or, inside
    row_copies, its copy); None if there is no such account."""
    from django.db import connection

    from staff.models import PasswordRecord

    user_model = get_user_model()
    if connection.vendor == "postgresql":
        sql = sql_text(ACCOUNT_STATE_SQL)
        copy = account_copy_key(user_id)  # its password's hash kept encrypted there
        user = raw_first(
            user_model, "staff_account_state", sql, [user_id], copy=copy, sealed=("password",)
        )
    else:
        latest = PasswordRecord.objects.filter(user=OuterRef("pk")).order_by("-set_at", "-pk")
        user = (
            user_model._default_manager.annotate(
                password_set_at=Subquery(latest.values("set_at")[:1]),
                password_set_by=Subquery(latest.values("set_by")[:1]),
            )
            .filter(pk=user_id)
            .first()
        )
    if user is None:
        return None
    # Valid for this password only: a change within the request reads the record again.
    user._password_state = (user.password, user.password_set_at, user.password_set_by)
    if hasattr(user, "role_names"):
        user._role_cache = set(user.role_names)
        # As the request found them (staff.scope reads them for its scope, once).
        own, agency = user.own_sites, user.agency_site_ids
        user._sites_read = ([tuple(pair) for pair in own], frozenset(agency))
    return user


def user_has_role(user, role: Role) -> bool:
    return role.value in user_roles(user)


def users_with_role(role: Role):
    return get_user_model().objects.filter(groups__name=role.value, is_active=True)


def unread_notification_count(user) -> int:
    return user.notifications.filter(read_at__isnull=True).count()


def recent_notifications(user, limit: int = 50):
    return user.notifications.order_by("-created_at")[:limit]


def needs_second_factor(user) -> bool:
    """Administrators, team leads and approvers confirm each sign-in with a TOTP code,
    and so does a superuser (the installer's account, the most powerful of all)."""
    return user.is_superuser or bool(user_roles(user) & set(settings.TWO_FACTOR_ROLES))


def sign_in_history(user, limit: int = 20):
    """The person's own recent sign-ins and failed attempts, with source IP."""
    from django.db.models import Q

    from audit.models import AuditEvent

    return (
        AuditEvent.objects.filter(
            Q(event_type="auth.signed_in", actor=user)
            | Q(event_type="auth.sign_in_failed", data__username=user.get_username())
        )
        .order_by("-id")
        .values("occurred_at", "event_type", "source_ip")[:limit]
    )


def usernames_managed_by(user):
    """The usernames of the accounts `user` manages: their agency's, and those at no site
    yet (staff.scope.admin_people_scoped); a subquery."""
    from staff.scope import admin_people_scoped

    people = admin_people_scoped(get_user_model().objects.all(), user, sites="staff_profile__sites")
    return people.values("username")


def accounts_to_onboard(user):
    """The accounts `user` may give a staff profile (staff.services.staff_profile_give):
    active, not a superuser, with no profile, role or permission yet, made by their agency
    (its first password set by one of the agency's people) and no password of it ever set
    by anyone outside the agency (who could then know it). The installing superuser's:
    any such account."""
    from staff.models import PasswordRecord
    from staff.scope import scope_of

    records = PasswordRecord.objects.filter(user=OuterRef("pk"))
    accounts = get_user_model().objects.filter(
        is_active=True, is_superuser=False, staff_profile__isnull=True, groups__isnull=True,
        user_permissions__isnull=True,
    )  # fmt: skip
    if user.is_superuser:
        return accounts
    ours = (
        get_user_model()
        .objects.filter(staff_profile__sites__agency__in=scope_of(user).agency_ids)
        .values("pk")
    )
    first = Subquery(records.order_by("set_at", "pk").values("set_by")[:1])
    foreign = records.filter(set_by__isnull=False).exclude(set_by__in=ours)
    made_here = accounts.annotate(first_set_by=first).filter(first_set_by__in=ours)
    return made_here.exclude(Exists(foreign))


def locked_accounts(user):
    """Accounts locked out by repeated failed sign-ins, newest first: those `user` may
    unlock (staff.services.account_unlock)."""
    from axes.models import AccessAttempt

    return AccessAttempt.objects.filter(
        failures_since_start__gte=settings.AXES_FAILURE_LIMIT,
        username__in=usernames_managed_by(user),
    ).order_by("-attempt_time")


def api_token_for_key(key: str):
    """The token a presented key belongs to, with its account, the account's latest
    password record (for the expiry check) and whether it works at a site, in one query;
    None if unknown."""
    import hmac

    from langzhong_si.credentials import credential_digest
    from staff.models import ApiToken, PasswordRecord, StaffProfile

    digest = credential_digest(key)
    latest = PasswordRecord.objects.filter(user=OuterRef("user")).order_by("-set_at", "-pk")
    sites = StaffProfile.sites.through.objects.filter(staffprofile__user=OuterRef("user"))
    token = (
        ApiToken.objects.select_related("user")
        .annotate(
            password_set_at=Subquery(latest.values("set_at")[:1]),
            password_set_by=Subquery(latest.values("set_by")[:1]),
            at_a_site=Exists(sites),
        )
        .filter(digest=digest)
        .first()
    )
    # The index finds the row by digest; comparing again in constant time costs nothing.
    if token is None or not hmac.compare_digest(token.digest, digest):
        return None
    return token


def api_token_refusal(token) -> str | None:
    """Why a token may not be used now, or None: revoked, expired, a disabled account,
    an expired (or someone else's) password, not an integration account, or one at no
    site (api_token_for_key's token)."""
    from django.utils import timezone
    from django.utils.translation import gettext as _

    from staff.passwords import password_state_expired

    user = token.user
    if token.revoked_at is not None:
        return _("This API token has been revoked.")
    if token.expires_at <= timezone.now():
        return _("This API token has expired.")
    if not user.is_active:
        return _("This account is disabled.")
    if user.has_usable_password() and password_state_expired(
        user=user, set_at=token.password_set_at, set_by_id=token.password_set_by
    ):
        return _("This account's password must be changed first (sign in to change it).")
    if needs_second_factor(user) or user.is_superuser:
        return _("This account signs in with a second factor; use a session, not a token.")
    if not user_has_role(user, Role.INTEGRATION):
        return _("API tokens are only for integration accounts, never for a person.")
    if not token.at_a_site:  # every agency's administrator manages it: none keys it
        return _("This account works at no site yet; give it its agency's site first.")
    return None


def api_tokens_list(user):
    """The system administrator's list, of their agency's accounts: prefixes, never keys."""
    from staff.models import ApiToken
    from staff.scope import admin_people_scoped

    tokens = ApiToken.objects.select_related("user", "created_by", "revoked_by")
    scoped = admin_people_scoped(tokens, user, sites="user__staff_profile__sites")
    return scoped.order_by("-created_at")
