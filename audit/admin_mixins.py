from django import forms
from django.contrib.admin.utils import unquote
from django.http import Http404
from django.utils.translation import gettext_lazy as _
from simple_history.admin import SimpleHistoryAdmin

from audit.services import audited_record_delete, audited_record_save
from langzhong_si.dates import date_range_validator
from langzhong_si.text import CHANGE_REASON_MAX_LENGTH, text_clean


class ReasonForm(forms.ModelForm):
    """Every change asks why; the reason lands in the row history and the audit log."""

    change_reason = forms.CharField(
        label=_("Reason for this change"), max_length=CHANGE_REASON_MAX_LENGTH
    )

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        # Every date typed in the admin (validity, leave) is within the accepted range.
        for field in self.fields.values():
            if isinstance(field, forms.DateField):
                field.validators.append(date_range_validator)

    def clean_change_reason(self):
        # The audited save refuses the same text; refusing here shows it on the form.
        return text_clean(
            self.cleaned_data["change_reason"],
            field=_("Reason for this change"),
            max_length=CHANGE_REASON_MAX_LENGTH,
        )


class ScopedHistoryAdmin(SimpleHistoryAdmin):
    """Row history only of the rows the person's admin lists (its get_queryset may be
    scoped, e.g. to their agency): simple-history's own view falls back to the history
    table for a row the queryset leaves out, which would show it."""

    def history_view(self, request, object_id, extra_context=None):
        pk = unquote(object_id)
        if (
            self.model._default_manager.filter(pk=pk).exists()
            and not self.get_queryset(request).filter(pk=pk).exists()
        ):
            raise Http404
        return super().history_view(request, object_id, extra_context)


class ReasonAdmin(ScopedHistoryAdmin):
    """Admin whose saves go through the audited save service, with a required reason.
    Subclasses may override `record_save` to add their own follow-up."""

    form = ReasonForm

    def get_actions(self, request):
        # "Delete selected" is a bulk delete: it would bypass reasons and row history.
        actions = super().get_actions(request)
        actions.pop("delete_selected", None)
        return actions

    def record_save(self, *, instance, reason, actor):
        audited_record_save(instance=instance, reason=reason, actor=actor)

    def save_model(self, request, obj, form, change):
        self.record_save(
            instance=obj, reason=form.cleaned_data["change_reason"], actor=request.user
        )

    def save_formset(self, request, form, formset, change):
        reason = form.cleaned_data["change_reason"]
        for instance in formset.save(commit=False):
            self.record_save(instance=instance, reason=reason, actor=request.user)
        for instance in formset.deleted_objects:
            audited_record_delete(instance=instance, reason=reason, actor=request.user)

    def delete_model(self, request, obj):
        audited_record_delete(
            instance=obj, reason=str(_("deleted in the admin")), actor=request.user
        )
