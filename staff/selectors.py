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
