from django.core.exceptions import ValidationError
from django.db import models
from django.utils.translation import gettext_lazy as _

from sites.defaults import home_site_id


class HallDevice(models.Model):
    """A registered hall screen: a kiosk, the call display, or the rating pad at one
    window. It carries a long-lived credential (a cookie, or `Authorization: Device`)
    that is made when its one-time registration link is used; no staff login runs on it."""

    class Kind(models.TextChoices):
        KIOSK = "kiosk", _("Ticket kiosk")
        DISPLAY = "display", _("Call display")
        PAD = "pad", _("Rating pad")

    kind = models.CharField(_("kind"), max_length=16, choices=Kind.choices)
    name = models.CharField(_("name"), max_length=64)
    # The site the screen stands in: a kiosk issues that site's tickets, a display calls
    # that site's windows.
    site = models.ForeignKey(
        "sites.Site",
        verbose_name=_("site"),
        on_delete=models.PROTECT,
        related_name="devices",
        default=home_site_id,
    )
    # A rating pad rates only the services of its own window. (counters stands above this
    # app: its Window is named here, never imported.)
    window = models.ForeignKey(
        "counters.Window",
        verbose_name=_("window"),
        null=True,
        blank=True,
        on_delete=models.PROTECT,
        related_name="pads",
    )
    # The device's credential as a SHA-256 only (langzhong_si.credentials): it is made
    # when a registration link is used, set as the screen's cookie and never shown again,
    # so reading this table (or a backup) gives nothing a screen could present. Replaced
    # at each registration, so a screen registered earlier (or a copied cookie) stops
    # working. Blank until the device is first registered.
    credential_digest = models.CharField(
        _("credential digest"), max_length=64, blank=True, editable=False
    )
    # The credential's first characters, to tell which screen holds which cookie.
    credential_prefix = models.CharField(
        _("credential prefix"), max_length=8, blank=True, editable=False
    )
    enabled = models.BooleanField(_("enabled"), default=True)
    registered_at = models.DateTimeField(_("registered at"), null=True, blank=True)
    # The registration link's secret, as a SHA-256 only: the link is shown once when
    # issued and works once (link_used_at is then set).
    link_digest = models.CharField(
        _("registration link digest"), max_length=64, blank=True, editable=False
    )
    link_issued_at = models.DateTimeField(_("link issued at"), null=True, blank=True)
    link_used_at = models.DateTimeField(_("link used at"), null=True, blank=True)

    class Meta:
        verbose_name = _("hall device")
        verbose_name_plural = _("hall devices")
        # Created by counters' migrations; the name (and its constraints') stays.
        db_table = "counters_halldevice"
        constraints = [
            models.CheckConstraint(
                condition=(models.Q(kind="pad") & models.Q(window__isnull=False))
                | (~models.Q(kind="pad") & models.Q(window__isnull=True)),
                name="counters_device_pad_iff_window",
            ),
            models.UniqueConstraint(fields=["window"], name="counters_device_one_pad_per_window"),
            # Its index serves the one look-up per device request (devices.selectors
            # .hall_device_for_credential: device_required, HallDeviceAuthentication).
            models.UniqueConstraint(
                fields=["credential_digest"],
                condition=~models.Q(credential_digest=""),
                name="counters_device_credential_unique",
            ),
        ]
        indexes = [
            # The registration page: the device whose link is being opened.
            models.Index(
                fields=["link_digest"],
                name="counters_device_link_idx",
                condition=~models.Q(link_digest=""),
            ),
        ]

    def __str__(self) -> str:
        return self.name

    def clean(self) -> None:
        # The admin's form error for what counters_device_pad_iff_window refuses.
        if (self.kind == self.Kind.PAD) != (self.window_id is not None):
            raise ValidationError(
                {"window": _("A rating pad belongs to one window; other devices to none.")}
            )
        if self.window_id is not None and self.window.site_id != self.site_id:
            raise ValidationError({"window": _("A rating pad stands at a window of its own site.")})
