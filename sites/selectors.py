"""Reads of agencies and sites. Who may see which site is staff.scope's rule; these
only list what the caller already may see, or what set-up needs."""

from django.db.models import QuerySet

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


def site_by_code(*, agency_code: str, code: str) -> Site | None:
    return Site.objects.select_related("agency").filter(agency__code=agency_code, code=code).first()


def sites_listed(*, site_ids) -> QuerySet[Site]:
    """The given active sites (a person's scope, staff.scope; None: every site) with their
    agency, for a list of addresses and opening hours: grouped by agency, hall first."""
    sites = Site.objects.filter(active=True)
    if site_ids is not None:
        sites = sites.filter(pk__in=site_ids)
    return sites.select_related("agency").order_by("agency__code", "kind", "code")
