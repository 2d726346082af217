import json

from django.contrib import admin
from django.contrib.auth import get_user_model
from django.contrib.auth.admin import UserAdmin
from django.db import transaction
from django_otp.plugins.otp_totp.models import TOTPDevice
from simple_history.admin import SimpleHistoryAdmin

from staff import services
from staff.models import ApiToken, StaffProfile
from staff.roles import Role
from staff.selectors import user_roles

# The TOTP admin shows each authenticator's secret (and a QR code of it): with it anyone
# with admin access, a superuser included, could pass as an administrator. Authenticators
# are enrolled by their owner and reset by the security administrator, never edited here.
if admin.site.is_registered(TOTPDevice):
    admin.site.unregister(TOTPDevice)


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
    # Who can be drawn changes only on the team lead's pool page, with a reason; the
    # own-ID digest (recusal) only on its owner's declaration page; never reassigned.
    readonly_fields = ["user", "availability"]
    exclude = ["id_number_digest"]


admin.site.unregister(get_user_model())


def _password_changed(message) -> bool:
    entries = json.loads(message) if isinstance(message, str) and message else message or []
    return any(
        "password" in entry.get("changed", {}).get("fields", [])
        for entry in entries
        if isinstance(entry, dict)
    )


@admin.register(get_user_model())
class StaffUserAdmin(UserAdmin):
    """The system administrator keeps accounts (create, disable, reset passwords);
    roles and privileges are the security administrator's, on the security page, and
    nobody edits their own. Groups, permissions and superuser status are read-only here.
    A password set here works for one sign-in, which asks its owner for a new one;
    setting it and (de)activating an account are audit events."""

    PRIVILEGE_FIELDS = ("groups", "user_permissions", "is_superuser", "is_staff")

    def get_readonly_fields(self, request, obj=None):
        readonly = list(super().get_readonly_fields(request, obj))
        roles = user_roles(request.user)
        if Role.SECURITY_ADMINISTRATOR not in roles or (
            obj is not None and obj.pk == request.user.pk
        ):
            readonly += [*self.PRIVILEGE_FIELDS, "last_login", "date_joined"]
        return readonly

    def save_model(self, request, obj, form, change):
        if change and "is_active" in form.changed_data:
            active = obj.is_active
            obj.is_active = not active  # the service changes it, checked and audited
            super().save_model(request, obj, form, change)
            services.account_active_set(user=obj, active=active, changed_by=request.user)
            return
        super().save_model(request, obj, form, change)
        if not change and obj.has_usable_password():
            services.password_must_change(user=obj, set_by=request.user)

    def user_change_password(self, request, id, form_url=""):
        # The form sets the hash and log_change (below) records who set it: both in one
        # transaction with the admin's log entry and its audit event.
        with transaction.atomic():
            return super().user_change_password(request, id, form_url)

    def log_change(self, request, obj, message):
        entry = super().log_change(request, obj, message)
        if _password_changed(message) and request.user.pk != obj.pk:
            services.password_must_change(user=obj, set_by=request.user)
        return entry


@admin.register(ApiToken)
class ApiTokenAdmin(admin.ModelAdmin):
    """Read-only: keys are issued and revoked on the system administrator's API tokens
    page (staff.services); only a prefix of each key is ever shown."""

    list_display = ["prefix", "user", "created_by", "created_at", "expires_at", "revoked_at"]
    list_filter = ["revoked_at"]
    search_fields = ["prefix", "user__username"]
    fields = list_display + ["revoked_by"]
    readonly_fields = fields

    def has_add_permission(self, request):
        return False

    def has_change_permission(self, request, obj=None):
        return False

    def has_delete_permission(self, request, obj=None):
        return False
