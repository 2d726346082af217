from django.contrib import admin
from django.urls import reverse
from django.utils.html import format_html
from django.utils.translation import gettext_lazy as _

from counters.models import HallDevice, Window


@admin.register(HallDevice)
class HallDeviceAdmin(admin.ModelAdmin):
    list_display = ["name", "kind", "enabled", "registered_at", "registration_link"]
    fields = ["name", "kind", "enabled"]

    @admin.display(description=_("registration link (open it once on the device)"))
    def registration_link(self, device):
        url = reverse("counters:device_register", args=[device.token])
        return format_html('<a href="{}">{}</a>', url, url)


@admin.register(Window)
class WindowAdmin(admin.ModelAdmin):
    list_display = ["number", "zone", "queue", "state", "clerk", "rating_pad_link"]
    readonly_fields = ["state", "clerk", "current_ticket"]

    @admin.display(description=_("rating pad link"))
    def rating_pad_link(self, window):
        url = reverse("counters:rating_pad", args=[window.rating_pad_token])
        return format_html('<a href="{}">{}</a>', url, url)
