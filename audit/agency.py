"""The agency an audit event belongs to, found without importing the layers above
(sites, staff): by the names their models give the columns, read generically.

In order: the object's own `agency_id` (tickets, cases, sites, seeds, draws), the
agency of the object's `site_id` (windows, devices, site-limited records), of a related
row already loaded with it (a review task's case), of the person it is about (`user_id`,
or the person themselves), then the actor's (the agency of their StaffProfile.sites).
Null when none applies: a deployment-wide act (the sequencer, a set-up command)."""

from django.conf import settings
from django.core.exceptions import FieldDoesNotExist
from django.db import models

# A site never moves to another agency (sites.models.Site.save), so its agency is
# remembered for the life of the process.
_site_agency: dict[tuple[str, int], int] = {}
_AGENCY_MODEL = "sites.agency"


def site_agencies_forget() -> None:
    """Forget the remembered sites (tests: a rolled-back database reuses their ids)."""
    _site_agency.clear()


def event_agency_id(*, obj: models.Model | None, actor=None) -> int | None:
    agency = _object_agency(obj) if obj is not None else None
    if agency is None and getattr(actor, "pk", None):
        agency = person_agency_id(actor)
    return agency


def _object_agency(obj: models.Model) -> int | None:
    if not isinstance(obj, models.Model):  # a stand-in naming an object (the admin log's)
        return None
    if obj._meta.label_lower == _AGENCY_MODEL:
        return obj.pk
    agency = _own_agency(obj)
    if agency is not None:
        return agency
    for related in obj._state.fields_cache.values():  # loaded with it: no query
        if isinstance(related, models.Model):
            agency = _own_agency(related)
            if agency is not None:
                return agency
    if obj._meta.label_lower == settings.AUTH_USER_MODEL.lower():
        return person_agency_id(obj)
    user_id = getattr(obj, "user_id", None)
    if user_id is None:
        return None
    try:
        user_model = obj._meta.get_field("user").related_model
    except FieldDoesNotExist:
        return None
    return _person_agency_by_id(user_model, user_id)


def _own_agency(obj: models.Model) -> int | None:
    agency = getattr(obj, "agency_id", None)
    if agency is not None:
        return agency
    site_id = getattr(obj, "site_id", None)
    if site_id is None:
        return None
    try:
        site_model = obj._meta.get_field("site").related_model
    except FieldDoesNotExist:
        return None
    return site_agency_id(site_model, site_id)


def site_agency_id(site_model, site_id: int) -> int | None:
    """The agency of a site (None: no such site, not remembered: it may yet be made),
    remembered for the life of the process."""
    key = (site_model._meta.label_lower, site_id)
    agency = _site_agency.get(key)
    if agency is None:
        agency = (
            site_model._base_manager.filter(pk=site_id).values_list("agency_id", flat=True).first()
        )
        if agency is not None:
            _site_agency[key] = agency
    return agency


def person_agency_id(user) -> int | None:
    """The agency of a person's sites (a staff member works in one agency), remembered
    on the instance for the rest of its request or task."""
    cached = getattr(user, "_audit_agency_id", _MISSING)
    if cached is _MISSING:
        # `user._meta.model`, not type(user): request.user is a lazy wrapper.
        cached = _person_agency_by_id(user._meta.model, user.pk)
        user._audit_agency_id = cached
    return cached


_MISSING = object()


def person_agency_ids(user) -> set[int]:
    """The agencies of the sites a person works at (one, or none for an account without
    sites). Read by the names the staff app gives the relations (staff_profile, sites)."""
    return _person_agency_ids_by_id(user._meta.model, user.pk)


def _person_agency_by_id(user_model, user_id: int) -> int | None:
    return min(_person_agency_ids_by_id(user_model, user_id), default=None)


def _person_agency_ids_by_id(user_model, user_id: int) -> set[int]:
    return set(
        user_model._base_manager.filter(pk=user_id, staff_profile__sites__isnull=False)
        .values_list("staff_profile__sites__agency_id", flat=True)
        .distinct()
    )
