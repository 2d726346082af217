"""The daily seeds and the draws made with them: the one record of all three randoms
(ticket to clerk, reviewer, approver), below the pools that feed it."""

from django.conf import settings
from django.db import models
from django.utils.translation import gettext_lazy as _

from sites.defaults import home_agency_id


class DailySeed(models.Model):
    """The secret behind one agency's draws of one day. Its SHA-256 commitment is
    published before the first draw; the seed itself is revealed after the day closes,
    so anyone can recompute every draw the agency made that day. Each agency has its
    own: one agency's auditors verify its draws without another's seed."""

    agency = models.ForeignKey(
        "sites.Agency",
        verbose_name=_("agency"),
        on_delete=models.PROTECT,
        related_name="+",
        default=home_agency_id,
    )
    day = models.DateField(_("day"))
    # Encrypted at rest like personal data, so a database reader cannot predict draws.
    seed = models.TextField(_("seed (encrypted)"))
    commitment = models.CharField(_("SHA-256 commitment"), max_length=64)
    committed_at = models.DateTimeField(_("committed at"), null=True, blank=True)
    # True only when no request or task committed the day's seed before its first draw
    # (a draw run from a shell on a day nothing else ran): verify_draws reports it.
    committed_in_draw = models.BooleanField(_("committed in its first draw"), default=False)
    revealed_at = models.DateTimeField(_("revealed at"), null=True, blank=True)

    class Meta:
        # The table kept its name when the model moved from risk: no data moved.
        db_table = "risk_dailyseed"
        verbose_name = _("daily seed")
        verbose_name_plural = _("daily seeds")
        constraints = [
            # Also serves the draw's read of its agency's seed of the day.
            models.UniqueConstraint(fields=["agency", "day"], name="draws_seed_per_agency_day")
        ]

    def __str__(self) -> str:
        return str(self.day)


class Draw(models.Model):
    class Purpose(models.TextChoices):
        TICKET_DISPATCH = "ticket_dispatch", _("Ticket to clerk")
        REVIEW = "review", _("Reviewer")
        APPROVAL = "approval", _("Approver")
        SECOND_APPROVAL = "second_approval", _("Second approver")

    class Numbering(models.IntegerChoices):
        # Draws made before 2026-12-02: one series for the whole day, whose counter row
        # every draw held until its commit (the hall's serial point).
        DAY = 1, _("one series for the day")
        # Since: one series per subject (a ticket, a review task), so no two subjects'
        # draws share a counter.
        SUBJECT = 2, _("one series per subject")

    # The agency whose seed chose (its people are the pool's: a pool never spans two).
    agency = models.ForeignKey(
        "sites.Agency",
        verbose_name=_("agency"),
        on_delete=models.PROTECT,
        related_name="+",
        default=home_agency_id,
    )
    day = models.DateField(_("day"))
    # 1, 2, 3 … without gaps within its series (verify_draws checks each series).
    number = models.PositiveIntegerField(_("number within its series"))
    numbering = models.PositiveSmallIntegerField(
        _("numbering"), choices=Numbering.choices, default=Numbering.SUBJECT
    )
    # How pool members enter the message (draws/choice.py): 1 user ids, 2 day pseudonyms.
    scheme = models.PositiveSmallIntegerField(_("scheme"), default=2)
    purpose = models.CharField(_("purpose"), max_length=32, choices=Purpose.choices)
    subject = models.CharField(_("drawn for"), max_length=64)
    # Where the pool came from (risk.models.DrawScope: site, agency, hall); "" for a
    # ticket's clerk, drawn among the ready clerks of the ticket's site.
    scope = models.CharField(_("pool scope"), max_length=8, blank=True)
    # User ids of the eligible pool in the canonical order of the scheme, as indexed
    # by the choice function.
    pool = models.JSONField(_("eligible pool"))
    # [{"user": id, "reason": code}] for everyone considered and left out.
    excluded = models.JSONField(_("excluded"), default=list)
    chosen = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        verbose_name=_("chosen"),
        on_delete=models.PROTECT,
        related_name="+",
    )
    chosen_index = models.PositiveIntegerField(_("chosen index"))
    drawn_at = models.DateTimeField(_("drawn at"))

    class Meta:
        db_table = "risk_draw"
        verbose_name = _("draw")
        verbose_name_plural = _("draws")
        constraints = [
            models.UniqueConstraint(
                fields=["day", "number"],
                condition=models.Q(numbering=1),
                name="risk_draw_unique_number",
            ),
            # Also serves the draw's "last number of this subject today" read.
            models.UniqueConstraint(
                fields=["day", "subject", "number"],
                condition=models.Q(numbering=2),
                name="draw_unique_number_per_subject",
            ),
        ]

    def __str__(self) -> str:
        if self.numbering == self.Numbering.DAY:
            return f"{self.day} #{self.number}"
        return f"{self.day} {self.subject} #{self.number}"

    @property
    def series(self) -> str:
        """The series its number counts in: the subject, or "" for the whole day."""
        return "" if self.numbering == self.Numbering.DAY else self.subject
