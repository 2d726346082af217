from django.contrib import admin
from django.contrib.auth import get_user_model
from django.contrib.auth.admin import UserAdmin
from simple_history.admin import SimpleHistoryAdmin

from staff.models import StaffProfile
from staff.roles import Role
from staff.selectors import user_roles


@admin.register(StaffProfile)
class StaffProfileAdmin(SimpleHistoryAdmin):
    list_display = [
        "employee_number",
        "display_name",
        "window_team",
        "availability",
    ]
    list_filter = ["availability"]
    search_fields = ["employee_number", "display_name"]
    # Who can be drawn changes only on the team lead's pool page, with a reason.
    readonly_fields = ["availability"]


admin.site.unregister(get_user_model())


@admin.register(get_user_model())
class StaffUserAdmin(UserAdmin):
    """The system administrator keeps accounts (create, disable, reset passwords);
    roles and privileges are the security administrator's, on the security page, and
    nobody edits their own. Groups, permissions and superuser status are read-only here."""

    PRIVILEGE_FIELDS = ("groups", "user_permissions", "is_superuser", "is_staff")

    def get_readonly_fields(self, request, obj=None):
        readonly = list(super().get_readonly_fields(request, obj))
        roles = user_roles(request.user)
        if Role.SECURITY_ADMINISTRATOR not in roles or (
            obj is not None and obj.pk == request.user.pk
        ):
            readonly += [*self.PRIVILEGE_FIELDS, "last_login", "date_joined"]
        return readonly
