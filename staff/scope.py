"""What a person may see: the sites and agencies of their work (二级/多级 scoping).

- A clerk, reviewer, approver or window lead sees the sites they work at.
- A team lead, auditor or administrator sees their whole agency (every site of it).
- A city-level viewer sees every agency of the deployment, read-only.
- Anyone else (no staff profile, no sites) sees nothing.

Every selector that lists or fetches tickets, cases, tasks, windows, devices, ratings,
appointments or reports filters through `scope_filter`; a test per role and URL proves it.
"""

from dataclasses import dataclass

from django.core.exceptions import PermissionDenied
from django.db.models import Q, QuerySet
from django.utils.translation import gettext as _

from audit.refusals import ANOTHER_AGENCY, refusal_record
from langzhong_si.compiled import CompiledRead
from langzhong_si.errors import RefusedAsAbsent
from sites.models import Site
from sites.selectors import sites_listed
from staff.roles import Role
from staff.selectors import user_roles

AGENCY_WIDE_ROLES = frozenset(
    {
        Role.TEAM_LEAD,
        Role.AUDITOR,
        Role.SYSTEM_ADMINISTRATOR,
        Role.SECURITY_ADMINISTRATOR,
        Role.AUDIT_ADMINISTRATOR,
    }
)


@dataclass(frozen=True)
class Scope:
    """`everything`: the whole deployment (city viewer). Otherwise the agency ids and the
    site ids the person may see; `read_only` for a view that may not act."""

    agency_ids: frozenset[int]
    site_ids: frozenset[int]
    everything: bool = False
    read_only: bool = False

    def allows_site(self, site_id: int) -> bool:
        return self.everything or site_id in self.site_ids

    def allows_agency(self, agency_id: int) -> bool:
        return self.everything or agency_id in self.agency_ids


NOTHING = Scope(agency_ids=frozenset(), site_ids=frozenset())


def scope_of(user) -> Scope:
    """The person's scope, remembered on the user object for the request."""
    cached = getattr(user, "_site_scope", None)
    if cached is not None:
        return cached
    scope = _scope_build(user)
    if getattr(user, "pk", None) is not None:
        user._site_scope = scope
    return scope


# The sites a person works at, with their agencies (the token path's read); compiled once.
_OWN_SITES = CompiledRead(
    lambda user_id: (
        Site.objects.filter(staff_profiles__user_id=user_id).order_by().only("pk", "agency_id")
    )
)


def _scope_build(user) -> Scope:
    if not getattr(user, "is_authenticated", False):
        return NOTHING
    roles = user_roles(user)
    if Role.CITY_VIEWER in roles:
        return Scope(frozenset(), frozenset(), everything=True, read_only=True)
    # Read with the account (staff.selectors.user_with_account_state) on PostgreSQL.
    own, agency_sites = getattr(user, "_sites_read", None) or (None, None)
    if own is None:
        own = [(site.pk, site.agency_id) for site in _OWN_SITES.all(user.pk)]
    if not own:
        return NOTHING
    agency_ids = frozenset(agency_id for _site, agency_id in own)
    if roles & AGENCY_WIDE_ROLES:
        site_ids = agency_sites or frozenset(
            Site.objects.filter(agency_id__in=agency_ids).values_list("pk", flat=True)
        )
    else:
        site_ids = frozenset(site for site, _agency in own)
    return Scope(agency_ids=agency_ids, site_ids=site_ids)


def scope_filter(queryset: QuerySet, user, *, site: str = "site", agency: str | None = None):
    """`queryset` narrowed to what `user` may see, through its `site` path (or, for rows
    that belong to an agency rather than a site, its `agency` path)."""
    scope = scope_of(user)
    if scope.everything:
        return queryset
    if agency is not None:
        return queryset.filter(Q(**{f"{agency}__in": scope.agency_ids}))
    return queryset.filter(Q(**{f"{site}__in": scope.site_ids}))


def sites_in_scope(user):
    """The active sites the person may see, with their agency (for their account page:
    addresses and opening hours), grouped by agency, hall first."""
    scope = scope_of(user)
    return sites_listed(site_ids=None if scope.everything else scope.site_ids)


def agency_manager_check(actor, agency_ids, *, action: str, target=None) -> None:
    """Accounts, roles and sites of an agency are managed from within it: refused when
    any of `agency_ids` is outside the actor's scope, and for a read-only view. The
    installing superuser (and set-up code, with no actor) manages every agency. A refusal
    is recorded (power_refused): `action` names what was tried, `target` on what."""
    if actor is None or actor.is_superuser:
        return
    scope = scope_of(actor)
    message = _("Another agency's accounts are managed within that agency.")
    if scope.read_only:  # the city viewer: every agency's, and none to change
        raise power_refused(actor, message, reason="read_only", action=action, target=target)
    if not all(scope.allows_agency(agency) for agency in agency_ids):
        raise power_refused(
            actor, message, reason=ANOTHER_AGENCY, action=action, target=target,
            refusal=AnotherAgency,
        )  # fmt: skip


class AnotherAgency(RefusedAsAbsent):
    """Refused: another agency's. A page or API call that named the account answers as if
    it did not exist (its existence is that agency's to know)."""


def power_refused(
    actor, message, *, reason: str, action: str, target=None, refusal=PermissionDenied
) -> PermissionDenied:
    """A refused use of power, recorded as a `power.refused` event (audit.refusals, which
    writes it even though the refused transaction rolls back): raise what it returns."""
    refusal_record(actor=actor, action=action, reason=reason, target=target)
    return refusal(message)


def admin_scoped(queryset, user, *, site: str = "site", agency: str | None = None):
    """The admin's rows of what the person sees (as scope_filter); the installing
    superuser sees everything."""
    if user.is_superuser:
        return queryset
    return scope_filter(queryset, user, site=site, agency=agency)


def admin_people_scoped(queryset, user, *, sites: str):
    """The admin's accounts or profiles (`sites`: the path to the person's sites) of the
    administrator's agencies, and those not yet at any site (an account just made), never
    a superuser (at no site too, and a superuser's alone to manage); the installing
    superuser sees everyone."""
    scope = scope_of(user)
    if user.is_superuser or scope.everything:
        return queryset
    people = queryset.filter(
        Q(**{f"{sites}__agency__in": scope.agency_ids}) | Q(**{f"{sites}__isnull": True})
    )
    # Accounts are listed from themselves ("staff_profile__sites"), else from a row whose
    # `user` is the account (a profile, a key, a qualification).
    account = "" if sites == "staff_profile__sites" else "user__"
    return people.exclude(**{f"{account}is_superuser": True}).distinct()
