"""Agencies and sites in the admin: the system administrator's (the `sites.*` permissions
of that role's group). Every save asks a reason and goes through sites.services, which
checks the change (no site moves agency, one hall per agency), keeps the row history and
records the audit event; nothing is deleted (rows of every kind carry their site).

An app of its own above staff (sites stands below it) because the admin is scoped by
staff.scope: a system administrator sees and keeps their own agency and its sites only;
a new agency is the installing superuser's (it is deployment-wide)."""

from django.contrib import admin
from django.core.exceptions import ValidationError

from audit.admin_mixins import ReasonAdmin, ReasonForm
from sites import services
from sites.models import Agency, Site
from staff.scope import admin_scoped, agency_manager_check


def _adopt(instance, made) -> None:
    """The admin goes on with the object it built (its log entry, the redirect): give it
    the row the service made."""
    instance.pk = made.pk
    instance._state.adding = False
    instance._state.db = made._state.db


class SitesReasonAdmin(ReasonAdmin):
    """Saves through the app's services: `create` (the `created_fields` of the form's
    object) for a new row, `update` (the changeable fields) for a stored one."""

    created_fields: tuple[str, ...] = ()
    changeable: tuple[str, ...] = ()

    def create(self, **values):
        raise NotImplementedError

    def update(self, pk: int, **values):
        raise NotImplementedError

    def record_save(self, *, instance, reason, actor):
        agency_manager_check(
            actor, {self.agency_id_of(instance)}, action=f"{self.model._meta.model_name}_save",
            target=instance if instance.pk else None,
        )  # fmt: skip
        if instance.pk is None:
            values = {field: getattr(instance, field) for field in self.created_fields}
            _adopt(instance, self.create(**values, created_by=actor, reason=reason))
            return
        self.update(
            instance.pk,
            changes={field: getattr(instance, field) for field in self.changeable},
            changed_by=actor,
            reason=reason,
        )

    def has_delete_permission(self, request, obj=None):
        return False

    def agency_id_of(self, instance) -> int | None:
        raise NotImplementedError


@admin.register(Agency)
class AgencyAdmin(SitesReasonAdmin):
    list_display = ["code", "name", "short_name", "reporting_sender_id", "active"]
    list_filter = ["active"]
    search_fields = ["code", "name", "short_name"]
    fields = ["code", "name", "short_name", "reporting_sender_id", "active", "change_reason"]

    def get_readonly_fields(self, request, obj=None):
        return ["code"] if obj is not None else []

    def get_queryset(self, request):
        return admin_scoped(super().get_queryset(request), request.user, agency="pk")

    def has_add_permission(self, request):
        # Another agency in the deployment is the installation's act, not an agency's.
        return request.user.is_superuser and super().has_add_permission(request)

    def agency_id_of(self, instance):
        return instance.pk

    created_fields = ("code", "name", "short_name", "reporting_sender_id")
    changeable = services.AGENCY_CHANGEABLE

    def create(self, **values):
        return services.agency_create(**values)

    def update(self, pk, **values):
        return services.agency_update(agency_id=pk, **values)


class SiteForm(ReasonForm):
    def clean(self):
        cleaned = super().clean()
        # The service's refusals shown on the form (a second hall, the hall closed or made
        # a station), not as an error page after the reason was typed.
        try:
            if self.instance.pk is None:
                if cleaned.get("kind") == Site.Kind.HALL and cleaned.get("agency") is not None:
                    services.site_hall_check(agency_id=cleaned["agency"].pk)
            else:
                stored = Site.objects.get(pk=self.instance.pk)
                services.site_change_check(
                    site=stored, changed=services.site_changes(site=stored, values=cleaned)
                )
        except ValidationError as error:
            self.add_error(None, error)
        return cleaned


@admin.register(Site)
class SiteAdmin(SitesReasonAdmin):
    form = SiteForm
    list_display = ["name", "code", "agency", "kind", "address", "opening_hours", "active"]
    list_filter = ["agency", "kind", "active"]
    search_fields = ["code", "name", "address"]
    fields = [
        "agency",
        "code",
        "name",
        "kind",
        "address",
        "opening_hours",
        "phone",
        "active",
        "change_reason",
    ]
    list_select_related = ["agency"]

    def get_readonly_fields(self, request, obj=None):
        # A site never moves to another agency, and keeps its code.
        return ["agency", "code"] if obj is not None else []

    def get_queryset(self, request):
        return admin_scoped(super().get_queryset(request), request.user, site="pk")

    def formfield_for_foreignkey(self, db_field, request, **kwargs):
        if db_field.name == "agency":
            kwargs["queryset"] = admin_scoped(Agency.objects.all(), request.user, agency="pk")
        return super().formfield_for_foreignkey(db_field, request, **kwargs)

    def agency_id_of(self, instance):
        return instance.agency_id

    created_fields = ("agency", "code", "name", "kind", "address", "opening_hours", "phone")
    changeable = services.SITE_CHANGEABLE

    def create(self, **values):
        return services.site_create(**values)

    def update(self, pk, **values):
        return services.site_update(site_id=pk, **values)
