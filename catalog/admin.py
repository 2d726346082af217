from django.contrib import admin
from simple_history.admin import SimpleHistoryAdmin

from catalog.models import InsuranceCategory, Material, ServiceItem


class MaterialInline(admin.TabularInline):
    model = Material
    extra = 0


@admin.register(ServiceItem)
class ServiceItemAdmin(SimpleHistoryAdmin):
    list_display = ["code", "name", "category", "at_counter", "risk_level", "promised_days"]
    list_filter = ["category", "at_counter", "risk_level", "handling_type"]
    search_fields = ["code", "name"]
    inlines = [MaterialInline]


@admin.register(InsuranceCategory)
class InsuranceCategoryAdmin(SimpleHistoryAdmin):
    list_display = ["code", "name", "order"]
