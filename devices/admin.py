from django.contrib import admin

from audit.admin_mixins import changed_fields_save
from devices.models import HallDevice
from staff.scope import admin_scoped


@admin.register(HallDevice)
class HallDeviceAdmin(admin.ModelAdmin):
    """Adding and disabling devices. Registration links are issued (once each, audited)
    on the hall devices page, never shown here."""

    list_display = [
        "name",
        "kind",
        "site",
        "window",
        "enabled",
        "registered_at",
        "credential_prefix",
        "link_issued_at",
    ]
    fields = ["name", "kind", "site", "window", "enabled"]
    list_filter = [("site", admin.RelatedOnlyFieldListFilter), "kind", "enabled"]
    list_select_related = ["site", "window"]

    def get_queryset(self, request):
        return admin_scoped(super().get_queryset(request), request.user)

    def formfield_for_foreignkey(self, db_field, request, **kwargs):
        if db_field.name in ("site", "window"):
            kwargs["queryset"] = admin_scoped(
                db_field.remote_field.model.objects.all(),
                request.user,
                site="pk" if db_field.name == "site" else "site",
            )
        return super().formfield_for_foreignkey(db_field, request, **kwargs)

    def save_model(self, request, obj, form, change):
        # Not the credential or link a registration wrote meanwhile (the old one would
        # work again, a used link would be usable again).
        changed_fields_save(obj, form, change)

    def get_readonly_fields(self, request, obj=None):
        # A registered device keeps what it is and where: a kiosk's credential never
        # becomes a window's rating pad, nor a pad another window's.
        if obj is not None and obj.registered_at is not None:
            return ["kind", "site", "window"]
        return []
