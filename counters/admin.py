from django.contrib import admin
from django.utils.translation import gettext_lazy as _

from counters.models import HallDevice, Window


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


@admin.register(Window)
class WindowAdmin(admin.ModelAdmin):
    list_display = ["number", "zone", "queue", "state", "clerk", "rating_pad"]
    readonly_fields = ["state", "clerk", "current_ticket"]

    @admin.display(description=_("rating pad"))
    def rating_pad(self, window):
        pads = [pad.name for pad in window.pads.all()]
        return ", ".join(pads) or "—"

    def get_queryset(self, request):
        return super().get_queryset(request).prefetch_related("pads")
