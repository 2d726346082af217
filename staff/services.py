from django.contrib.auth import get_user_model
from django.contrib.auth.models import Group
from django.core.exceptions import ValidationError
from django.db import transaction
from django.utils.translation import gettext as _

from audit.services import audit_event_record
from staff.models import StaffProfile
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
    review_level: int = 0,
    approval_level: int = 0,
    window_team: str = "",
    created_by=None,
):
    user = get_user_model().objects.create_user(username=username, password=password)
    StaffProfile.objects.create(
        user=user,
        display_name=display_name,
        employee_number=employee_number,
        review_level=review_level,
        approval_level=approval_level,
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
