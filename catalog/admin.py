from django.contrib import admin

from audit.admin_mixins import ReasonAdmin
from catalog.models import InsuranceCategory, Material, ServiceItem
from catalog.services import catalog_record_edit


class CatalogReasonAdmin(ReasonAdmin):
    deleted_rows_scoped = False  # one catalog for every agency

    def record_save(self, *, instance, reason, actor):
        catalog_record_edit(instance=instance, reason=reason, actor=actor)


class MaterialInline(admin.TabularInline):
    model = Material
    extra = 0
    fields = ["order", "name", "form", "copies", "required", "is_key", "notes"]


@admin.register(ServiceItem)
class ServiceItemAdmin(CatalogReasonAdmin):
    list_display = [
        "code",
        "name",
        "category",
        "at_counter",
        "risk_level",
        "promised_days",
        "source",
    ]
    list_filter = ["category", "at_counter", "risk_level", "handling_type", "source", "enabled"]
    search_fields = ["code", "name", "search_text"]  # also serves the policy autocomplete
    inlines = [MaterialInline]
    history_list_display = ["risk_level", "promised_days", "at_counter"]


@admin.register(InsuranceCategory)
class InsuranceCategoryAdmin(CatalogReasonAdmin):
    list_display = ["code", "name", "order"]
