"""Agencies and their sites: created and changed here only (the admin, set-up commands and
the demo all call these), each change checked, recorded in the row history with its reason
and an audit event naming the old and new values.

Keeping them is the system administrator's work (the admin's `sites.*` permissions, held
by that role's group); `actor=None` is the server's own shell (installation, the demo).
"""

import re
import unicodedata

from django.core.exceptions import PermissionDenied, ValidationError
from django.db import transaction
from django.utils.translation import gettext as _

from audit.services import audit_event_record
from langzhong_si.text import CHANGE_REASON_MAX_LENGTH, name_clean, text_clean
from sites.models import Agency, Site

# 行政区划代码 (six digits), with a short suffix where one division has two agencies.
_AGENCY_CODE = re.compile(r"[0-9]{6}[0-9A-Za-z-]{0,6}")
_SITE_CODE = re.compile(r"[0-9A-Za-z_-]{1,16}")
_PHONE = re.compile(r"[0-9+() -]{0,20}")
# What may change after creation. An agency's code and a site's code and agency stay:
# tickets, cases, events, reports and the provincial platforms name them.
AGENCY_CHANGEABLE = ("name", "short_name", "reporting_sender_id", "active")
SITE_CHANGEABLE = ("name", "kind", "address", "opening_hours", "phone", "active")


def sites_manager_check(actor, permission: str) -> None:
    """Refuse anyone without the admin permission (the system administrator's group holds
    it); nobody at all when signed out. `None` is the server's shell."""
    if actor is None:
        return
    if not getattr(actor, "is_authenticated", False) or not actor.has_perm(permission):
        raise PermissionDenied(_("Only the system administrator keeps agencies and sites."))


def _code_clean(value, *, pattern: re.Pattern, message: str) -> str:
    code = unicodedata.normalize("NFKC", str(value or "")[:64]).strip()
    if not pattern.fullmatch(code):
        raise ValidationError(message, code="code")
    return code


def _short_text(value, *, field: str, max_length: int) -> str:
    return text_clean(value or "", field=field, max_length=max_length).replace("\n", " ")


def _agency_values(values: dict) -> dict:
    cleaned = {}
    if "name" in values:
        cleaned["name"] = name_clean(values["name"], field=_("Name"), max_length=64)
        if not cleaned["name"]:
            raise ValidationError(_("Name the agency."), code="name")
    if "short_name" in values:
        cleaned["short_name"] = name_clean(
            values["short_name"] or "", field=_("Short name"), max_length=16
        )
    if "reporting_sender_id" in values:
        cleaned["reporting_sender_id"] = _short_text(
            values["reporting_sender_id"], field=_("Reporting sender id"), max_length=32
        )
    if "active" in values:
        cleaned["active"] = bool(values["active"])
    return cleaned


def _site_values(values: dict) -> dict:
    cleaned = {}
    if "name" in values:
        cleaned["name"] = name_clean(values["name"], field=_("Name"), max_length=64)
        if not cleaned["name"]:
            raise ValidationError(_("Name the site."), code="name")
    if "kind" in values:
        if values["kind"] not in Site.Kind.values:
            raise ValidationError(_("A site is a service hall or a service station."), code="kind")
        cleaned["kind"] = values["kind"]
    for field, label, length in (
        ("address", _("Address"), 128),
        ("opening_hours", _("Opening hours"), 128),
    ):
        if field in values:
            cleaned[field] = _short_text(values[field], field=label, max_length=length)
    if "phone" in values:
        phone = unicodedata.normalize("NFKC", str(values["phone"] or "")[:64]).strip()
        if not _PHONE.fullmatch(phone):
            raise ValidationError(
                _("A telephone number has digits, spaces, hyphens and brackets only."),
                code="phone",
            )
        cleaned["phone"] = phone
    if "active" in values:
        cleaned["active"] = bool(values["active"])
    return cleaned


def _reason_clean(reason: str) -> str:
    return text_clean(reason or "", field=_("Reason"), max_length=CHANGE_REASON_MAX_LENGTH)


def site_hall_check(*, agency_id: int, site_id: int | None = None) -> None:
    """Refuse a second hall in an agency: a policy's "hall" scope names exactly one."""
    halls = Site.objects.filter(agency_id=agency_id, kind=Site.Kind.HALL)
    if site_id is not None:
        halls = halls.exclude(pk=site_id)
    if halls.exists():
        raise ValidationError(
            _("The agency already has its service hall; a further site is a station."),
            code="second_hall",
        )


def agency_create(
    *,
    code: str,
    name: str,
    short_name: str = "",
    reporting_sender_id: str = "",
    created_by=None,
    reason: str = "",
) -> Agency:
    """A new agency (a county the deployment now also serves). It has no site yet: its
    hall comes next (`site_create(kind=hall)`)."""
    sites_manager_check(created_by, "sites.add_agency")
    code = _code_clean(
        code,
        pattern=_AGENCY_CODE,
        message=_("An agency code is its six-digit division code, with an optional suffix."),
    )
    values = _agency_values(
        {"name": name, "short_name": short_name, "reporting_sender_id": reporting_sender_id}
    )
    reason = _reason_clean(reason)
    with transaction.atomic():
        if Agency.objects.filter(code=code).exists():
            raise ValidationError(
                _("An agency with the code %(code)s exists already.") % {"code": code},
                code="code_taken",
            )
        agency = Agency(code=code, **values)
        _recorded_save(
            agency, event_type="agency.created", actor=created_by, reason=reason,
            data={"code": code, "name": agency.name},
        )  # fmt: skip
    return agency


def agency_update(*, agency_id: int, changes: dict, changed_by, reason: str = "") -> Agency:
    """Change an agency's name, short name, reporting id or whether it is active; its code
    stays (see AGENCY_CHANGEABLE). No actual change records nothing."""
    sites_manager_check(changed_by, "sites.change_agency")
    refused = set(changes) - set(AGENCY_CHANGEABLE)
    if refused:
        raise ValidationError(
            _("An agency's code does not change once made."), code="agency_immutable"
        )
    values = _agency_values(changes)
    reason = _reason_clean(reason)
    with transaction.atomic():
        agency = Agency.objects.select_for_update().get(pk=agency_id)
        changed = _changed(agency, values)
        if not changed:
            return agency
        _recorded_save(
            agency, event_type="agency.changed", actor=changed_by, reason=reason, changed=changed
        )
    return agency


def site_create(
    *,
    agency: Agency,
    code: str,
    name: str,
    kind: str = Site.Kind.STATION,
    address: str = "",
    opening_hours: str = "",
    phone: str = "",
    created_by=None,
    reason: str = "",
) -> Site:
    """A new site of `agency`: its hall (one per agency) or a station. Windows, devices
    and staff are added to it afterwards, in their own apps."""
    sites_manager_check(created_by, "sites.add_site")
    code = _code_clean(
        code,
        pattern=_SITE_CODE,
        message=_("A site code has 1 to 16 letters, digits, hyphens or underscores."),
    )
    values = _site_values(
        {
            "name": name,
            "kind": kind,
            "address": address,
            "opening_hours": opening_hours,
            "phone": phone,
        }
    )
    reason = _reason_clean(reason)
    with transaction.atomic():
        # The agency row is the lock that serialises two halls made at once.
        agency = Agency.objects.select_for_update().get(pk=agency.pk)
        if not agency.active:
            raise ValidationError(_("This agency is no longer active."), code="agency_inactive")
        if values["kind"] == Site.Kind.HALL:
            site_hall_check(agency_id=agency.pk)
        if Site.objects.filter(agency=agency, code=code).exists():
            raise ValidationError(
                _("The agency already has a site with the code %(code)s.") % {"code": code},
                code="code_taken",
            )
        site = Site(agency=agency, code=code, **values)
        _recorded_save(
            site, event_type="site.created", actor=created_by, reason=reason,
            data={"agency": agency.code, "code": code, "kind": site.kind, "name": site.name},
        )  # fmt: skip
    return site


def site_update(*, site_id: int, changes: dict, changed_by, reason: str = "") -> Site:
    """Change a site's name, address, opening hours, telephone, kind or whether it is
    active. Refused: moving it to another agency (its tickets, cases and events carry the
    agency they were made in), changing its code, a second hall in the agency, and a hall
    becoming a station or closing (the agency keeps its hall, which draws may name)."""
    sites_manager_check(changed_by, "sites.change_site")
    if "agency" in changes or "agency_id" in changes:
        raise ValidationError(_("A site cannot move to another agency."), code="agency_moved")
    if set(changes) - set(SITE_CHANGEABLE):
        raise ValidationError(_("A site's code does not change once made."), code="code_fixed")
    values = _site_values(changes)
    reason = _reason_clean(reason)
    with transaction.atomic():
        # The agency row is the lock that serialises two halls made at once.
        agency_id = Site.objects.values_list("agency_id", flat=True).get(pk=site_id)
        list(Agency.objects.select_for_update().filter(pk=agency_id).values_list("pk"))
        site = Site.objects.select_for_update().get(pk=site_id)
        changed = _changed(site, values)
        if not changed:
            return site
        site_change_check(site=site, changed=changed)
        _recorded_save(
            site, event_type="site.changed", actor=changed_by, reason=reason, changed=changed,
            data={"agency": site.agency.code},
        )  # fmt: skip
    return site


def site_change_check(*, site: Site, changed: dict) -> None:
    """Refuse a second hall, and the hall becoming a station or closing. `changed` maps
    each changed field to its (old, new) values."""
    kind = changed.get("kind", (site.kind, site.kind))[1]
    active = changed.get("active", (site.active, site.active))[1]
    if site.kind == Site.Kind.HALL and (kind != Site.Kind.HALL or not active):
        raise ValidationError(
            _("The agency's service hall stays a hall and stays open."), code="hall_kept"
        )
    if site.kind != Site.Kind.HALL and kind == Site.Kind.HALL:
        site_hall_check(agency_id=site.agency_id, site_id=site.pk)


def site_changes(*, site: Site, values: dict) -> dict:
    """The changeable fields of `values` that differ from `site`, as (old, new)."""
    return _changed(site, _site_values({f: values[f] for f in SITE_CHANGEABLE if f in values}))


def _changed(instance, values: dict) -> dict:
    return {
        field: (getattr(instance, field), new)
        for field, new in values.items()
        if getattr(instance, field) != new
    }


def _recorded_save(
    instance, *, event_type: str, actor, reason: str, changed: dict | None = None, data=None
) -> None:
    """Save a new row, or the `changed` fields ((old, new) each) of a stored one, with the
    reason in its history, and record the event (the old and new values, the reason)."""
    data = dict(data or {}, reason=reason)
    if changed is not None:
        for field, (_old, new) in changed.items():
            setattr(instance, field, new)
        data["changes"] = {field: {"from": old, "to": new} for field, (old, new) in changed.items()}
    instance._change_reason = reason or ("changed" if changed else "created")
    instance.save(update_fields=list(changed) if changed else None)
    audit_event_record(event_type=event_type, actor=actor, obj=instance, data=data)
