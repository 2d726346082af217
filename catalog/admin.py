from django import forms
from django.contrib import admin
from django.utils.translation import gettext_lazy as _
from simple_history.admin import SimpleHistoryAdmin

from catalog.models import InsuranceCategory, Material, ServiceItem
from catalog.services import catalog_record_delete, catalog_record_edit


class ReasonForm(forms.ModelForm):
    """Every catalog change asks why; the reason lands in the row history and the audit log."""

    change_reason = forms.CharField(
        label=_("Reason for this change"), max_length=100, required=True
    )


class ReasonAdmin(SimpleHistoryAdmin):
    form = ReasonForm

    def save_model(self, request, obj, form, change):
        catalog_record_edit(
            instance=obj, reason=form.cleaned_data["change_reason"], actor=request.user
        )

    def save_formset(self, request, form, formset, change):
        reason = form.cleaned_data["change_reason"]
        for instance in formset.save(commit=False):
            catalog_record_edit(instance=instance, reason=reason, actor=request.user)
        for instance in formset.deleted_objects:
            catalog_record_delete(instance=instance, reason=reason, actor=request.user)

    def delete_model(self, request, obj):
        catalog_record_delete(instance=obj, reason=_("deleted in the admin"), actor=request.user)


class MaterialInline(admin.TabularInline):
    model = Material
    extra = 0
    fields = ["order", "name", "form", "copies", "required", "is_key", "notes"]


@admin.register(ServiceItem)
class ServiceItemAdmin(ReasonAdmin):
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
    search_fields = ["code", "name", "search_text"]
    inlines = [MaterialInline]
    history_list_display = ["risk_level", "promised_days", "at_counter"]


@admin.register(InsuranceCategory)
class InsuranceCategoryAdmin(ReasonAdmin):
    list_display = ["code", "name", "order"]
