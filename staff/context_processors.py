from staff.selectors import unread_notification_count, user_roles


def staff_roles(request):
    user = getattr(request, "user", None)
    if user is None or not user.is_authenticated:
        return {"user_roles": set(), "unread_notifications": 0}
    return {
        "user_roles": user_roles(user),
        "unread_notifications": unread_notification_count(user),
    }
