from django.contrib import admin
from django.utils.translation import gettext_lazy as _

from counters.models import Window


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
