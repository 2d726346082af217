from django.conf import settings
from django.db import models
from django.utils.translation import gettext_lazy as _
from simple_history.models import HistoricalRecords

from audit.bulk import AuditedManager
from counters.models import Ticket, Window


class Rating(models.Model):
    """好差评: the citizen's rating of one service, from the window's rating pad or later
    from the ticket page. No staff screen creates, edits or deletes one."""

    class Level(models.IntegerChoices):
        VERY_SATISFIED = 5, _("Very satisfied")
        SATISFIED = 4, _("Satisfied")
        FAIRLY_SATISFIED = 3, _("Fairly satisfied")
        DISSATISFIED = 2, _("Dissatisfied")
        VERY_DISSATISFIED = 1, _("Very dissatisfied")

    BAD_LEVELS = (Level.DISSATISFIED, Level.VERY_DISSATISFIED)

    ticket = models.ForeignKey(
        Ticket, verbose_name=_("ticket"), on_delete=models.PROTECT, related_name="ratings"
    )
    window = models.ForeignKey(
        Window, verbose_name=_("window"), on_delete=models.PROTECT, related_name="+"
    )
    clerk = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        verbose_name=_("clerk rated"),
        on_delete=models.PROTECT,
        related_name="+",
    )
    # 1 = the rating at the window; 2 = the one later rating the citizen may add.
    sequence = models.PositiveSmallIntegerField(_("sequence"), default=1)
    level = models.PositiveSmallIntegerField(_("level"), choices=Level.choices)
    reason = models.CharField(_("reason"), max_length=300, blank=True)
    created_at = models.DateTimeField(_("rated at"), auto_now_add=True)

    class Meta:
        verbose_name = _("rating")
        verbose_name_plural = _("ratings")
        # Created by counters' migrations; the name (and its constraints') stays.
        db_table = "counters_rating"
        constraints = [
            models.UniqueConstraint(fields=["ticket", "sequence"], name="counters_rating_once"),
            models.CheckConstraint(
                condition=models.Q(sequence__in=[1, 2]), name="counters_rating_sequence"
            ),
            models.CheckConstraint(
                condition=models.Q(level__gte=1, level__lte=5), name="counters_rating_level_1_5"
            ),
            models.CheckConstraint(
                condition=models.Q(level__gte=3) | ~models.Q(reason=""),
                name="counters_rating_bad_has_reason",
            ),
        ]
        indexes = [
            # Period reports and evaluation: the ratings given in a date range.
            models.Index(fields=["created_at"], name="counters_rating_created_idx"),
        ]

    def __str__(self) -> str:
        return f"{self.ticket} {self.level}"


class FollowUp(models.Model):
    """The team lead's follow-up of a bad rating: a callback, then a written reply."""

    rating = models.OneToOneField(
        Rating, verbose_name=_("rating"), on_delete=models.PROTECT, related_name="follow_up"
    )
    callback_due = models.DateField(_("callback due"))
    reply_due = models.DateField(_("reply due"))
    callback_at = models.DateTimeField(_("called back at"), null=True, blank=True)
    callback_note = models.TextField(_("callback note"), blank=True)
    reply = models.TextField(_("reply"), blank=True)
    replied_at = models.DateTimeField(_("replied at"), null=True, blank=True)
    handled_by = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        verbose_name=_("handled by"),
        null=True,
        blank=True,
        on_delete=models.PROTECT,
        related_name="+",
    )
    objects = AuditedManager()
    history = HistoricalRecords(table_name="counters_historicalfollowup")

    class Meta:
        verbose_name = _("follow-up")
        verbose_name_plural = _("follow-ups")
        db_table = "counters_followup"

    def __str__(self) -> str:
        return str(self.rating)
