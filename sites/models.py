from django.core.exceptions import ValidationError
from django.db import models
from django.db.models.signals import pre_save
from django.utils.translation import gettext_lazy as _
from simple_history.models import HistoricalRecords

from audit.bulk import AuditedManager
from sites.defaults import agency_id_of_site, home_agency_id, home_site_id


class Agency(models.Model):
    """A social-insurance agency (经办机构). One deployment may host several (a city hosting
    its counties); each is isolated from the others in every screen and API, and its
    tickets, cases, audit events and their history carry it, so the big tables can be
    partitioned (or, on a distributed PostgreSQL, sharded) by it."""

    # The agency's code: its administrative division code (行政区划代码), e.g. 511381 for
    # Langzhong, with a suffix where one division has two agencies.
    code = models.CharField(_("agency code"), max_length=12, unique=True)
    name = models.CharField(_("name"), max_length=64)
    short_name = models.CharField(_("short name"), max_length=16, blank=True)
    # The sender id the provincial platforms know the agency by (upward reporting).
    reporting_sender_id = models.CharField(_("reporting sender id"), max_length=32, blank=True)
    active = models.BooleanField(_("active"), default=True)
    objects = AuditedManager()
    history = HistoricalRecords()

    class Meta:
        verbose_name = _("agency")
        verbose_name_plural = _("agencies")
        ordering = ["code"]

    def __str__(self) -> str:
        return self.short_name or self.name


class Site(models.Model):
    """A place where the agency serves citizens: its county hall (服务大厅) or one of its
    township and street service stations (乡镇/街道社保所). Each has its own windows,
    devices, queues, opening hours and staff; tickets and the random clerk stay within
    a site."""

    class Kind(models.TextChoices):
        HALL = "hall", _("Service hall")
        STATION = "station", _("Service station")

    agency = models.ForeignKey(
        Agency, verbose_name=_("agency"), on_delete=models.PROTECT, related_name="sites"
    )
    code = models.CharField(_("site code"), max_length=16)
    name = models.CharField(_("name"), max_length=64)
    kind = models.CharField(_("kind"), max_length=8, choices=Kind.choices)
    address = models.CharField(_("address"), max_length=128, blank=True)
    opening_hours = models.CharField(_("opening hours"), max_length=128, blank=True)
    phone = models.CharField(_("telephone"), max_length=20, blank=True)
    active = models.BooleanField(_("active"), default=True)
    objects = AuditedManager()
    history = HistoricalRecords()

    class Meta:
        verbose_name = _("site")
        verbose_name_plural = _("sites")
        ordering = ["agency__code", "kind", "code"]
        constraints = [
            models.UniqueConstraint(fields=["agency", "code"], name="sites_site_code_per_agency"),
            # "前台受理、后台审核": an agency has one hall, which a policy's "hall" scope names.
            models.UniqueConstraint(
                fields=["agency"],
                condition=models.Q(kind="hall"),
                name="sites_one_hall_per_agency",
            ),
        ]

    def __str__(self) -> str:
        return self.name

    def save(self, *args, **kwargs):
        # A site never moves to another agency: its tickets, cases and events carry the
        # agency they were made in.
        if self.pk is not None:
            stored = type(self).objects.filter(pk=self.pk).values_list("agency_id", flat=True)
            if stored and stored[0] != self.agency_id:
                raise ValidationError(_("A site cannot move to another agency."))
        super().save(*args, **kwargs)


class AtSite(models.Model):
    """A record made at a site (a ticket, a case, a rating): the site, and that site's
    agency kept on the row so the big tables can be partitioned by agency. The agency is
    always the site's: every save sets it (_agency_of_its_site, on pre_save)."""

    site = models.ForeignKey(
        "sites.Site",
        verbose_name=_("site"),
        on_delete=models.PROTECT,
        related_name="+",
        default=home_site_id,
    )
    agency = models.ForeignKey(
        "sites.Agency",
        verbose_name=_("agency"),
        on_delete=models.PROTECT,
        related_name="+",
        default=home_agency_id,
    )

    class Meta:
        abstract = True

    def __init_subclass__(cls, **kwargs):
        super().__init_subclass__(**kwargs)
        # Each kind of record made at a site, not every model's save.
        pre_save.connect(_agency_of_its_site, sender=cls, weak=False)


_SITE, _AGENCY = frozenset({"site", "site_id"}), frozenset({"agency", "agency_id"})


def _agency_of_its_site(sender, instance, raw=False, update_fields=None, **kwargs) -> None:
    """Whatever saves a record made at a site (Model.save, or langzhong_si.saves' one
    statement, which sends the same signal) saves it with its site's agency; a save of
    named fields that names the site or the agency must name both, or the row could keep
    one with the other's successor. A fixture (raw) is loaded as written."""
    if raw:
        return
    if update_fields is not None and bool(_SITE & update_fields) != bool(_AGENCY & update_fields):
        raise ValueError("A record's site is saved with its agency: name both fields.")
    instance.agency_id = agency_id_of_site(instance.site_id)
