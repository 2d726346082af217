from django.conf import settings
from django.db import models
from django.utils.translation import gettext_lazy as _
from simple_history.models import HistoricalRecords

from audit.bulk import AuditedManager


class InsuranceCategory(models.Model):
    code = models.CharField(_("code"), max_length=16, unique=True)
    name = models.CharField(_("name"), max_length=64)
    order = models.PositiveSmallIntegerField(_("order"), default=0)
    objects = AuditedManager()
    history = HistoricalRecords()

    class Meta:
        verbose_name = _("insurance category")
        verbose_name_plural = _("insurance categories")
        ordering = ["order", "code"]

    def __str__(self) -> str:
        return self.name


class ServiceItem(models.Model):
    class HandlingType(models.TextChoices):
        ON_THE_SPOT = "on_the_spot", _("On-the-spot item")
        PROMISED = "promised", _("Promised item")

    class Retention(models.TextChoices):
        PERMANENT = "permanent", _("Permanent")
        YEARS_100 = "100y", _("100 years")
        YEARS_50 = "50y", _("50 years")
        YEARS_30 = "30y", _("30 years")
        YEARS_10 = "10y", _("10 years")

    class Source(models.TextChoices):
        PUBLISHED = "published", _("Published")
        ESTIMATED = "estimated", _("Estimated")

    code = models.CharField(_("code"), max_length=32, unique=True)
    name = models.CharField(_("name"), max_length=128)
    # The province's codes for this item, imported with the catalog and sent with every
    # upward report (reporting): 实施清单编码 (shared by the sub-items of one 主项) and
    # 业务办理项编码 (one per item). Blank until the province's list is imported.
    implementation_code = models.CharField(
        _("item implementation code (实施清单编码)"), max_length=40, blank=True
    )
    business_item_code = models.CharField(
        _("business item code (业务办理项编码)"), max_length=40, blank=True
    )
    category = models.ForeignKey(
        InsuranceCategory,
        verbose_name=_("category"),
        on_delete=models.PROTECT,
        related_name="items",
    )
    # The 主项 this item is a sub-item of. A 主项 is a heading in the published list,
    # not an item a citizen applies for, so it is a name rather than a row.
    parent_name = models.CharField(_("parent item"), max_length=128, blank=True)
    at_counter = models.BooleanField(_("handled at the comprehensive counter"), default=True)
    risk_level = models.PositiveSmallIntegerField(_("risk level"), default=0)
    handling_type = models.CharField(
        _("handling type"),
        max_length=16,
        choices=HandlingType.choices,
        default=HandlingType.ON_THE_SPOT,
    )
    statutory_days = models.PositiveSmallIntegerField(_("statutory time limit (working days)"))
    promised_days = models.PositiveSmallIntegerField(_("promised time limit (working days)"))
    visits_required = models.PositiveSmallIntegerField(_("in-person visits required"), default=1)
    fee = models.CharField(_("fee"), max_length=128, default="", blank=True)
    legal_basis = models.TextField(_("legal basis"), blank=True)
    conditions = models.TextField(_("conditions"), blank=True)
    steps = models.TextField(_("steps"), blank=True)
    result = models.CharField(_("result and delivery"), max_length=256, blank=True)
    retention = models.CharField(
        _("archive retention"), max_length=16, choices=Retention.choices, default="30y"
    )
    source = models.CharField(
        _("source of the values"), max_length=16, choices=Source.choices, default="estimated"
    )
    # Space-separated field names whose values are estimates, not published facts.
    estimated_fields = models.CharField(_("estimated fields"), max_length=200, blank=True)
    enabled = models.BooleanField(_("enabled"), default=True)
    # Name, code and pinyin initials (of the name and its common abbreviations), so
    # "ylbx" finds 养老保险 and "sbk" finds 社保卡 items; kept by catalog.services.
    search_text = models.TextField(_("search text"), blank=True, editable=False)
    objects = AuditedManager()
    history = HistoricalRecords(excluded_fields=["search_text"])

    class Meta:
        verbose_name = _("service item")
        verbose_name_plural = _("service items")
        ordering = ["code"]
        constraints = [
            models.CheckConstraint(
                condition=models.Q(risk_level__gte=0, risk_level__lte=3),
                name="catalog_item_risk_level_0_3",
            ),
            models.CheckConstraint(
                condition=models.Q(promised_days__lte=models.F("statutory_days")),
                name="catalog_item_promised_within_statutory",
            ),
            # The platforms tell items apart by this code: two items never share one.
            models.UniqueConstraint(
                fields=["business_item_code"],
                condition=~models.Q(business_item_code=""),
                name="catalog_item_unique_business_item_code",
            ),
        ]

    def __str__(self) -> str:
        return f"{self.code} {self.name}"

    # The catalog has no applicant column: an item concerns employers (单位) when its
    # name, category, parent item or conditions name one, which is true of exactly the
    # 50 items the agency lists as employers' business (fixtures/catalog/items.csv).
    EMPLOYER_MARK = "单位"

    @property
    def takes_employer(self) -> bool:
        """An employer (单位) may be this item's applicant; a person always may."""
        return any(
            self.EMPLOYER_MARK in text
            for text in (self.name, self.parent_name, self.conditions, self.category.name)
        )


class Material(models.Model):
    class Form(models.TextChoices):
        ORIGINAL = "original", _("Original")
        COPY = "copy", _("Copy")
        ORIGINAL_AND_COPY = "original_and_copy", _("Original and copy")

    item = models.ForeignKey(
        ServiceItem, verbose_name=_("item"), on_delete=models.CASCADE, related_name="materials"
    )
    name = models.CharField(_("name"), max_length=128)
    form = models.CharField(_("form"), max_length=20, choices=Form.choices, default=Form.ORIGINAL)
    copies = models.PositiveSmallIntegerField(_("copies"), default=1)
    required = models.BooleanField(_("required"), default=True)
    # A key material can never be deferred under 容缺受理.
    is_key = models.BooleanField(_("key material"), default=True)
    notes = models.CharField(_("notes"), max_length=256, blank=True)
    order = models.PositiveSmallIntegerField(_("order"), default=0)
    objects = AuditedManager()
    history = HistoricalRecords()

    class Meta:
        verbose_name = _("material")
        verbose_name_plural = _("materials")
        ordering = ["item", "order", "pk"]
        constraints = [
            models.UniqueConstraint(fields=["item", "name"], name="catalog_material_unique_name"),
            # A key material is by definition required.
            models.CheckConstraint(
                condition=models.Q(is_key=False) | models.Q(required=True),
                name="catalog_material_key_is_required",
            ),
        ]

    def __str__(self) -> str:
        return self.name


class ItemSwitchOff(models.Model):
    """An item the agency does not handle (e.g. medical insurance where a separate agency
    does it): switched off for that agency only, never deleted, so the other agencies of
    the deployment, its history and its past cases keep it. Switching back on removes
    the row; the row history and the audit events keep who did what and why."""

    agency = models.ForeignKey(
        "sites.Agency",
        verbose_name=_("agency"),
        on_delete=models.PROTECT,
        related_name="items_switched_off",
    )
    item = models.ForeignKey(
        ServiceItem,
        verbose_name=_("item"),
        on_delete=models.PROTECT,
        related_name="switched_off",
    )
    reason = models.CharField(_("reason"), max_length=200)
    switched_by = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        verbose_name=_("switched off by"),
        null=True,
        blank=True,
        on_delete=models.PROTECT,
        related_name="+",
    )
    switched_at = models.DateTimeField(_("switched off at"), auto_now_add=True)
    objects = AuditedManager()
    history = HistoricalRecords()

    class Meta:
        verbose_name = _("item switched off")
        verbose_name_plural = _("items switched off")
        ordering = ["agency", "item"]
        constraints = [
            # items_offered excludes by (agency, item): one row says it, once.
            models.UniqueConstraint(fields=["agency", "item"], name="catalog_switch_off_once"),
            models.CheckConstraint(
                condition=~models.Q(reason=""), name="catalog_switch_off_reason"
            ),
        ]

    def __str__(self) -> str:
        return f"{self.agency_id} {self.item_id}"
