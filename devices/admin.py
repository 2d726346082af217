from django.contrib import admin

from devices.models import HallDevice


@admin.register(HallDevice)
class HallDeviceAdmin(admin.ModelAdmin):
    """Adding and disabling devices. Registration links are issued (once each, audited)
    on the hall devices page, never shown here."""

    list_display = [
        "name",
        "kind",
        "window",
        "enabled",
        "registered_at",
        "credential_prefix",
        "link_issued_at",
    ]
    fields = ["name", "kind", "window", "enabled"]

    def get_readonly_fields(self, request, obj=None):
        # A registered device keeps what it is and where: a kiosk's credential never
        # becomes a window's rating pad, nor a pad another window's.
        if obj is not None and obj.registered_at is not None:
            return ["kind", "window"]
        return []
