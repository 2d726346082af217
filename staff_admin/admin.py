import contextvars

from axes.admin import AccessAttemptAdmin, AccessFailureLogAdmin, AccessLogAdmin
from axes.models import AccessAttempt, AccessFailureLog, AccessLog
from django import forms
from django.contrib import admin
from django.contrib.admin.utils import unquote
from django.contrib.auth import get_user_model
from django.contrib.auth.admin import GroupAdmin, UserAdmin
from django.contrib.auth.forms import AdminPasswordChangeForm, UserCreationForm
from django.contrib.auth.models import Group
from django.db import transaction
from django.utils.translation import gettext_lazy as _
from django_otp.plugins.otp_totp.models import TOTPDevice

from audit.admin_mixins import ScopedHistoryAdmin, changed_fields_save
from langzhong_si.text import name_clean
from staff import services
from staff.models import ApiToken, StaffProfile
from staff.roles import Role
from staff.scope import admin_people_scoped, admin_scoped
from staff.selectors import accounts_to_onboard, user_roles, usernames_managed_by
from staff.signals import roles_changed_by

# The TOTP admin shows each authenticator's secret (and a QR code of it): with it anyone
# with admin access, a superuser included, could pass as an administrator. Authenticators
# are enrolled by their owner and reset by the security administrator, never edited here.
if admin.site.is_registered(TOTPDevice):
    admin.site.unregister(TOTPDevice)


class StaffProfileForm(forms.ModelForm):
    def clean_employee_number(self):
        return services.employee_number_clean(self.cleaned_data["employee_number"])

    def clean_display_name(self):
        return name_clean(self.cleaned_data["display_name"], field=_("Display name"))

    def clean_sites(self):
        sites = self.cleaned_data["sites"]
        services.staff_sites_check(sites)
        return sites


@admin.register(StaffProfile)
class StaffProfileAdmin(ScopedHistoryAdmin):
    form = StaffProfileForm
    list_display = ["employee_number", "display_name", "window_team", "sites_shown", "availability"]
    # Only the agencies and sites of the listed people (never another agency's names).
    list_filter = [
        "availability",
        ("sites__agency", admin.RelatedOnlyFieldListFilter),
        ("sites", admin.RelatedOnlyFieldListFilter),
    ]
    search_fields = ["employee_number", "display_name"]
    # Who can be drawn changes only on the team lead's pool page, with a reason; the
    # own-ID digest (recusal) only on its owner's declaration page; never reassigned.
    readonly_fields = ["user", "availability"]
    exclude = ["id_number_digest"]
    filter_horizontal = ["sites"]

    def get_queryset(self, request):
        profiles = admin_people_scoped(super().get_queryset(request), request.user, sites="sites")
        return profiles.prefetch_related("sites")

    def get_readonly_fields(self, request, obj=None):
        # An account made in the admin gets its profile here: its account chosen once.
        return self.readonly_fields if obj is not None else ["availability"]

    def formfield_for_foreignkey(self, db_field, request, **kwargs):
        if db_field.name == "user":  # the agency's new accounts (staff_profile_give)
            kwargs["queryset"] = accounts_to_onboard(request.user)
        return super().formfield_for_foreignkey(db_field, request, **kwargs)

    def formfield_for_manytomany(self, db_field, request, **kwargs):
        if db_field.name == "sites":  # only the sites of the administrator's agency
            kwargs["queryset"] = admin_scoped(
                db_field.remote_field.model.objects.all(), request.user, site="pk"
            )
        return super().formfield_for_manytomany(db_field, request, **kwargs)

    @admin.display(description=_("sites"))
    def sites_shown(self, profile):
        return "、".join(site.name for site in profile.sites.all())

    def save_model(self, request, obj, form, change):
        if not change:  # through its service: the agency's new account, its sites, recorded
            made = services.staff_profile_give(
                user=obj.user, given_by=request.user, display_name=obj.display_name,
                employee_number=obj.employee_number, window_team=obj.window_team,
                sites=form.cleaned_data["sites"],
            )  # fmt: skip
            obj.pk, obj._state = made.pk, made._state
            return
        # The 工号 changes through its service: the system administrator's right, checked
        # unique, with the old and new numbers in the audit event.
        if "employee_number" in form.changed_data:
            number = obj.employee_number
            obj.employee_number = form.initial["employee_number"]
            services.staff_employee_number_set(profile=obj, number=number, changed_by=request.user)
        changed_fields_save(obj, form, change, owned=("employee_number",))  # its service's

    def save_related(self, request, form, formsets, change):
        # The sites decide what the person sees and where they can be drawn: they change
        # through their service (the system administrator's right, one agency, audited).
        if change and "sites" in form.changed_data:
            services.staff_sites_set(
                user=form.instance.user, sites=form.cleaned_data["sites"], changed_by=request.user
            )
            form.cleaned_data["sites"] = form.instance.sites.all()
        super().save_related(request, form, formsets, change)


admin.site.unregister(get_user_model())
admin.site.unregister(Group)


@admin.register(Group)
class RoleGroupAdmin(GroupAdmin):
    """A role's group is never deleted (PostgreSQL refuses it too, staff 0012): every
    member would lose the role at once, with no event of theirs. Groups are made and
    changed by the installing superuser only: a role's permissions are what every member
    may do at once, and any other group would give permissions past the roles' rules and
    events (their changes record only roles)."""

    def has_add_permission(self, request):
        return request.user.is_superuser

    def has_change_permission(self, request, obj=None):
        return request.user.is_superuser

    def has_delete_permission(self, request, obj=None):
        return not (obj and obj.name in Role.values) and super().has_delete_permission(request, obj)


# Who is setting a password on the admin's password page (read by the form's save).
_password_set_by: contextvars.ContextVar = contextvars.ContextVar("admin_password_set_by")


class PasswordSetForm(AdminPasswordChangeForm):
    """A new password only (no switch that disables password sign-in), set through
    staff.services.password_set: the system administrator's right, the audit event and
    the forced change at next sign-in, once."""

    def __init__(self, user, *args, **kwargs):
        super().__init__(user, *args, **kwargs)
        self.fields.pop("usable_password", None)
        self.fields["password1"].required = True
        self.fields["password2"].required = True

    def save(self, commit=True):
        services.password_set(
            user=self.user, password=self.cleaned_data["password1"], set_by=_password_set_by.get()
        )
        return self.user


@admin.register(get_user_model())
class StaffUserAdmin(UserAdmin):
    """The system administrator keeps accounts (create, disable, reset passwords);
    roles and privileges are the security administrator's, on the security page, and
    nobody edits their own. Superuser status, direct permissions and (after creation) the
    username are read-only here; groups and admin access for all but the security
    administrator.
    A password set here opens nothing before its owner enters the sign-in code the
    security administrator gives them (security_desk), and works for one sign-in, which
    asks its owner for a new one;
    setting it and (de)activating an account are audit events. Role changes in the
    groups field go through the same checks and events as the security page's."""

    PRIVILEGE_FIELDS = ("groups", "is_staff")
    NOBODYS_FIELDS = ("is_superuser", "user_permissions")
    # An account is made with a password (no "password sign-in off" switch): its first
    # record names who set it, the agency that made it (staff.selectors.accounts_to_onboard).
    add_form = UserCreationForm
    add_fieldsets = (
        (None, {"classes": ("wide",), "fields": ("username", "password1", "password2")}),
    )

    def get_queryset(self, request):
        # Accounts of the administrator's own agency (by the person's sites); no superuser.
        return admin_people_scoped(
            super().get_queryset(request), request.user, sites="staff_profile__sites"
        )

    def get_readonly_fields(self, request, obj=None):
        # Superuser status and permissions given past the roles' groups are nobody's to
        # give here, the security administrator's included: they would escape the roles'
        # rules (incompatible roles, the agency, the role events). A superuser is made on
        # the server only (createsuperuser) and retired there.
        readonly = [*super().get_readonly_fields(request, obj), *self.NOBODYS_FIELDS]
        if obj is not None and not request.user.is_superuser:
            # django-axes locks an account by its name: a rename would lift a lockout past
            # the security administrator's unlock (and its event).
            readonly.append("username")
        roles = user_roles(request.user)
        if Role.SECURITY_ADMINISTRATOR not in roles or (
            obj is not None and obj.pk == request.user.pk
        ):
            readonly += [*self.PRIVILEGE_FIELDS, "last_login", "date_joined"]
        return list(dict.fromkeys(readonly))

    def save_model(self, request, obj, form, change):
        if change and "is_active" in form.changed_data:
            active = obj.is_active
            changed_fields_save(obj, form, change, owned=("is_active",))  # set by its service
            services.account_active_set(user=obj, active=active, changed_by=request.user)
            return
        changed_fields_save(obj, form, change)  # not a deactivation or password meanwhile
        if not change and obj.has_usable_password():
            services.password_must_change(user=obj, set_by=request.user)

    change_password_form = PasswordSetForm

    def user_change_password(self, request, id, form_url=""):
        # auth.change_user is not enough: only the system administrator (or the installing
        # superuser) sets another person's password, and nobody their own here.
        user = self.get_object(request, unquote(id))
        if user is not None:
            services.account_manager_check(request.user, user, action="password_set")
        token = _password_set_by.set(request.user)
        try:
            # The service's event and the admin's log entry in one transaction.
            with transaction.atomic():
                return super().user_change_password(request, id, form_url)
        finally:
            _password_set_by.reset(token)

    def save_related(self, request, form, formsets, change):
        # The groups field: the signal checks that the security administrator changes
        # someone else's roles and records each grant and revocation in their name.
        with roles_changed_by(request.user):
            super().save_related(request, form, formsets, change)


@admin.register(ApiToken)
class ApiTokenAdmin(admin.ModelAdmin):
    """Read-only: keys are issued and revoked on the system administrator's API tokens
    page (staff.services); only a prefix of each key is ever shown."""

    list_display = ["prefix", "user", "created_by", "created_at", "expires_at", "revoked_at"]
    list_filter = ["revoked_at"]
    search_fields = ["prefix", "user__username"]
    fields = list_display + ["revoked_by"]
    readonly_fields = fields

    def get_queryset(self, request):  # the agency's own accounts' keys
        tokens = super().get_queryset(request)
        return admin_people_scoped(tokens, request.user, sites="user__staff_profile__sites")

    def has_add_permission(self, request):
        return False

    def has_change_permission(self, request, obj=None):
        return False

    def has_delete_permission(self, request, obj=None):
        return False


class _SignInRecordsScoped:
    """django-axes' sign-in records of the accounts the person manages (their agency's,
    and those at no site yet), read-only: a lockout is lifted on the security page
    (audited, within the agency), never by deleting its record here, and no bulk action."""

    def get_queryset(self, request):
        records = super().get_queryset(request)
        if request.user.is_superuser:  # attempts on names that are nobody's too
            return records
        return records.filter(username__in=usernames_managed_by(request.user))

    def has_change_permission(self, request, obj=None):
        return False

    def has_delete_permission(self, request, obj=None):
        return False

    def get_actions(self, request):
        return {}


for _model, _admin in (
    (AccessAttempt, AccessAttemptAdmin),
    (AccessLog, AccessLogAdmin),
    (AccessFailureLog, AccessFailureLogAdmin),
):
    if admin.site.is_registered(_model):
        admin.site.unregister(_model)
    admin.site.register(_model, type(_admin.__name__, (_SignInRecordsScoped, _admin), {}))
