from django import forms
from django.contrib.admin import helpers
from django.contrib.admin.utils import unquote
from django.core.exceptions import PermissionDenied
from django.db import transaction
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


def changed_fields_save(obj, form, change: bool, *, owned: tuple[str, ...] = ()) -> None:
    """An admin form's save: a new row whole, a stored one only in the fields the form
    changed, but for the `owned` ones (a service has written or refused them itself). The
    whole row would write back every field as the page read it, undoing what a service
    or transition wrote meanwhile (a sign-on, an availability, a device's registration, a
    deactivation); so the row is locked and its other fields read again first, and the
    row history's new version holds the row as it now is."""
    if not change:
        obj.save()
        return
    fields = obj._meta.concrete_fields
    saved = [f.name for f in fields if f.name in form.changed_data and f.name not in owned]
    others = [f.name for f in fields if f.name not in saved and not f.primary_key]
    with transaction.atomic(using=obj._state.db):
        if others:
            locked = type(obj)._default_manager.select_for_update()
            obj.refresh_from_db(fields=others, from_queryset=locked)
        obj.save(update_fields=saved)


class ScopedHistoryAdmin(SimpleHistoryAdmin):
    """Row history only of the rows the person's admin lists (its get_queryset may be
    scoped, e.g. to their agency): simple-history's own views fall back to the history
    table for a row the queryset leaves out, which would show it. A deleted row's history
    only to the installing superuser where rows belong to an agency
    (`deleted_rows_scoped`): whose it was can no longer be read from the row (its deletion
    stays in the audit log for everyone who reads that). A past version is
    shown, never saved back: simple-history's "revert" saves every field of it (the
    read-only and hidden ones too) with the view permission alone, past the services
    that keep those fields (who can be drawn, a recusal)."""

    # False for records the whole deployment works by (the catalog).
    deleted_rows_scoped = True

    def _listed_check(self, request, object_id) -> None:
        pk = unquote(object_id)
        if not self.model._default_manager.filter(pk=pk).exists():
            if self.deleted_rows_scoped and not request.user.is_superuser:
                raise Http404
        elif not self.get_queryset(request).filter(pk=pk).exists():
            raise Http404

    def history_view(self, request, object_id, extra_context=None):
        self._listed_check(request, object_id)
        return super().history_view(request, object_id, extra_context)

    def history_form_view(self, request, object_id, version_id, extra_context=None):
        if request.method not in ("GET", "HEAD"):
            raise PermissionDenied
        self._listed_check(request, object_id)
        return super().history_form_view(request, object_id, version_id, extra_context)

    def revert_disabled(self, request, obj=None):
        return True

    def render_history_view(self, request, template, context, **kwargs):
        shown = context.get("adminform")
        if shown is not None:  # a past version's page: its fields shown as text, no inputs
            context["adminform"] = helpers.AdminForm(
                shown.form,
                list(shown.fieldsets),
                {},
                readonly_fields=list(shown.form.fields) + list(shown.readonly_fields),
                model_admin=self,
            )
        return super().render_history_view(request, template, context, **kwargs)

    def save_model(self, request, obj, form, change):
        obj._history_user = request.user  # as simple-history's own
        changed_fields_save(obj, form, change)


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
