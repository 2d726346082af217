from django.contrib.auth import get_user_model
from django.contrib.auth.models import Group
from django.core.exceptions import ValidationError
from django.db import transaction
from django.utils import timezone
from django.utils.translation import gettext as _

from audit.services import audit_event_record
from staff.models import Notification, StaffProfile
from staff.roles import SEPARATED_ADMINISTRATOR_ROLES, Role
from staff.selectors import user_roles


@transaction.atomic
def role_grant(*, user, role: Role, granted_by=None) -> None:
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
    user = get_user_model().objects.create_user(username=username, password=password)
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
