"""Reads of agencies and sites. Who may see which site is staff.scope's rule; these
only list what the caller already may see, or what set-up needs."""

from django.core.exceptions import PermissionDenied
from django.db.models import QuerySet
from django.utils.translation import gettext as _

from audit.agency import person_agency_ids
from langzhong_si.hall import hall_contact
from sites.defaults import home_agency_id, home_site_id
from sites.models import Agency, Site


def agencies_active() -> QuerySet[Agency]:
    return Agency.objects.filter(active=True).order_by("code")


def agency_sites(*, agency_id: int, active_only: bool = True) -> QuerySet[Site]:
    """An agency's sites, its hall first, then its stations by code."""
    sites = Site.objects.filter(agency_id=agency_id)
    if active_only:
        sites = sites.filter(active=True)
    return sites.order_by("kind", "code")  # "hall" sorts before "station"


def agency_hall(*, agency_id: int) -> Site | None:
    """The agency's hall: the "hall" scope of a draw (前台受理、后台审核)."""
    return Site.objects.filter(agency_id=agency_id, kind=Site.Kind.HALL).first()


def site_contact(site: Site) -> dict:
    """Where and when a site serves, as its papers and guides print it: its agency's and
    its own name, address, telephone and opening hours. The home hall's settings
    (HALL_ADDRESS, HALL_PHONE, HALL_HOURS) fill what it leaves blank; another site's
    blanks stay blank, never another place's address or number."""
    blank = {"address": "", "phone": "", "hours": ""}
    fallback = hall_contact() if site.pk == home_site_id() else blank
    return {
        "agency": site.agency.name,
        "name": site.name,
        "address": site.address or fallback["address"],
        "phone": site.phone or fallback["phone"],
        "hours": site.opening_hours or fallback["hours"],
    }


def person_agency(user) -> Agency:
    """The agency a person works for (the home agency for a person of none, or of
    several: the deployment keeper's staff)."""
    agency_ids = person_agency_ids(user)
    agency_id = next(iter(agency_ids)) if len(agency_ids) == 1 else home_agency_id()
    return Agency.objects.get(pk=agency_id)


def person_site_name(user) -> str | None:
    """What a person's screens are headed with: the site they work at, their agency
    when they work at several of its sites, None for a person of no site. One query."""
    sites = list(
        Site.objects.filter(staff_profiles__user=user, active=True)
        .order_by("agency__code", "kind", "code")
        .values_list("name", "agency__name")[:2]
    )
    if not sites:
        return None
    return sites[0][0] if len(sites) == 1 else sites[0][1]


def site_by_code(*, agency_code: str, code: str) -> Site | None:
    return Site.objects.select_related("agency").filter(agency__code=agency_code, code=code).first()


def sites_listed(*, site_ids) -> QuerySet[Site]:
    """The given active sites (a person's scope, staff.scope; None: every site) with their
    agency, for a list of addresses and opening hours: grouped by agency, hall first."""
    sites = Site.objects.filter(active=True)
    if site_ids is not None:
        sites = sites.filter(pk__in=site_ids)
    return sites.select_related("agency").order_by("agency__code", "kind", "code")


def deployment_keeper_check(user) -> None:
    """Records every agency of the deployment works by (the catalog's items and
    materials, the risk policies) are kept by the hosting (home) agency's staff or the
    installing superuser; set-up code passes no one. Another agency's people are
    refused: their edit would change how the host's and every other agency's cases run.
    (A person's agencies are read by audit.agency, below the staff app.)"""
    if user is None or user.is_superuser:
        return
    if person_agency_ids(user) != {home_agency_id()}:  # none, or another agency's too
        raise PermissionDenied(_("Records every agency works by are kept by the hosting agency."))
