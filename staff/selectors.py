from django.contrib.auth import get_user_model

from staff.roles import Role


def user_roles(user) -> set[str]:
    if not user.is_authenticated:
        return set()
    cached = getattr(user, "_role_cache", None)
    if cached is None:
        cached = set(user.groups.values_list("name", flat=True))
        user._role_cache = cached
    return cached


def user_has_role(user, role: Role) -> bool:
    return role.value in user_roles(user)


def users_with_role(role: Role):
    return get_user_model().objects.filter(groups__name=role.value, is_active=True)


def unread_notification_count(user) -> int:
    return user.notifications.filter(read_at__isnull=True).count()


def recent_notifications(user, limit: int = 50):
    return user.notifications.order_by("-created_at")[:limit]


def needs_second_factor(user) -> bool:
    """Administrators, team leads and approvers confirm each sign-in with a TOTP code."""
    from django.conf import settings

    return bool(user_roles(user) & set(settings.TWO_FACTOR_ROLES))


def sign_in_history(user, limit: int = 20):
    """The person's own recent sign-ins and failed attempts, with source IP."""
    from django.db.models import Q

    from audit.models import AuditEvent

    return (
        AuditEvent.objects.filter(
            Q(event_type="auth.signed_in", actor=user)
            | Q(event_type="auth.sign_in_failed", data__username=user.get_username())
        )
        .order_by("-position")
        .values("occurred_at", "event_type", "source_ip")[:limit]
    )


def locked_accounts():
    """Usernames locked out by repeated failed sign-ins, newest first."""
    from axes.models import AccessAttempt
    from django.conf import settings

    return AccessAttempt.objects.filter(
        failures_since_start__gte=settings.AXES_FAILURE_LIMIT
    ).order_by("-attempt_time")
