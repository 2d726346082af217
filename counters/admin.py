from django.contrib import admin
from django.utils.translation import gettext_lazy as _

from audit.admin_mixins import changed_fields_save
from counters.models import Window
from staff.scope import admin_scoped


@admin.register(Window)
class WindowAdmin(admin.ModelAdmin):
    """A site's windows: numbered within the site (counters_window_number_per_site), listed
    and filtered by site, and only of the sites the person sees."""

    list_display = ["number", "site", "zone", "queue", "state", "clerk", "rating_pad"]
    list_filter = [("site", admin.RelatedOnlyFieldListFilter), "queue", "state"]
    # A window's state and what goes with it move only through its transitions
    # (counters.transitions): a sign-on, a call, a pause and its reason, their times.
    readonly_fields = ["state", "state_since", "pause_reason", "clerk", "current_ticket"]

    def get_readonly_fields(self, request, obj=None):
        # A window stays at its site: moving it would put its signed-on clerk into another
        # site's draws, where they may not work (counters.services.clerk_works_at).
        fields = list(super().get_readonly_fields(request, obj))
        return [*fields, "site"] if obj is not None else fields

    def has_delete_permission(self, request, obj=None):
        # Not while a clerk is signed on: that would end the sign-on with no event of its
        # own (the clerk signs off first, recorded).
        staffed = obj is not None and obj.clerk_id is not None
        return not staffed and super().has_delete_permission(request, obj)

    def save_model(self, request, obj, form, change):
        changed_fields_save(obj, form, change)  # not a sign-on or call made meanwhile

    @admin.display(description=_("rating pad"))
    def rating_pad(self, window):
        pads = [pad.name for pad in window.pads.all()]
        return ", ".join(pads) or "—"

    def get_queryset(self, request):
        queryset = super().get_queryset(request).select_related("site", "clerk")
        return admin_scoped(queryset, request.user).prefetch_related("pads")

    def formfield_for_foreignkey(self, db_field, request, **kwargs):
        if db_field.name == "site":
            kwargs["queryset"] = admin_scoped(
                db_field.remote_field.model.objects.all(), request.user, site="pk"
            )
        return super().formfield_for_foreignkey(db_field, request, **kwargs)
