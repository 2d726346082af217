from functools import wraps

from django.contrib.auth.decorators import login_required
from django.core.exceptions import PermissionDenied

from staff.roles import Role
from staff.selectors import user_roles


def role_required(*roles: Role):
    """Allow only people holding one of `roles`. Superusers are not exempt: a
    superuser account holds no business role."""
    wanted = {role.value for role in roles}

    def decorator(view):
        @login_required
        @wraps(view)
        def wrapped(request, *args, **kwargs):
            if not wanted & user_roles(request.user):
                raise PermissionDenied
            return view(request, *args, **kwargs)

        return wrapped

    return decorator
