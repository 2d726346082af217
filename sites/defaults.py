"""The deployment's home agency and its hall: the default for rows made without a site
(set-up paths, the admin, tests). The hall's services always pass the site explicitly."""

from audit.agency import site_agency_id

HOME_AGENCY_CODE = "511381"
HOME_AGENCY_NAME = "阆中市社会保险事业管理局"
HOME_HALL_CODE = "hall"
HOME_HALL_NAME = "阆中市社会保险服务大厅"


def home_site_id() -> int:
    """The id of the home agency's hall (the first agency by id), made if missing."""
    from sites.models import Agency, Site

    site_id = (
        Site.objects.filter(kind=Site.Kind.HALL)
        .order_by("agency_id")
        .values_list("pk", flat=True)
        .first()
    )
    if site_id is None:
        agency = Agency.objects.order_by("pk").first() or Agency.objects.create(
            code=HOME_AGENCY_CODE, name=HOME_AGENCY_NAME
        )
        site_id = Site.objects.create(
            agency=agency, code=HOME_HALL_CODE, name=HOME_HALL_NAME, kind=Site.Kind.HALL
        ).pk
    return site_id


def home_agency_id() -> int:
    from sites.models import Site

    return Site.objects.values_list("agency_id", flat=True).get(pk=home_site_id())


def agency_id_of_site(site_id: int) -> int:
    """A site's agency (a site never changes agency, so audit.agency remembers it per
    process)."""
    from sites.models import Site

    agency_id = site_agency_id(Site, site_id)
    if agency_id is None:
        raise Site.DoesNotExist(f"No site {site_id}.")
    return agency_id
