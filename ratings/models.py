from django.conf import settings
from django.db import models
from django.utils.translation import gettext_lazy as _
from simple_history.models import HistoricalRecords

from audit.bulk import AuditedManager
from counters.models import Case, Ticket, Window
from sites.models import AtSite


class Rating(AtSite):
    """好差评: the citizen's rating of one service. At acceptance (受理): the service at
    the window, from its rating pad or later from the ticket page (one later addition).
    At completion (办结): a case's result, once, from the ticket page after the case
    has ended. No staff screen creates, edits or deletes one.

    Its site is the rated ticket's (where the service was given): the results page, the
    reports and the evaluation count by it and its agency, and scope by them."""

    class Stage(models.TextChoices):
        ACCEPTANCE = "acceptance", _("At acceptance")
        COMPLETION = "completion", _("At completion")

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
    stage = models.CharField(
        _("stage"), max_length=10, choices=Stage.choices, default=Stage.ACCEPTANCE
    )
    # A completion rating's case (its ticket is the case's ticket); none at acceptance.
    case = models.ForeignKey(
        Case,
        verbose_name=_("case"),
        null=True,
        blank=True,
        on_delete=models.PROTECT,
        related_name="+",
    )
    # At acceptance: 1 = the rating at the window; 2 = the one later rating the citizen
    # may add. A completion rating is always 1 (one per case).
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
            models.UniqueConstraint(
                fields=["ticket", "sequence"],
                condition=models.Q(stage="acceptance"),
                name="counters_rating_once",
            ),
            models.UniqueConstraint(
                fields=["case"],
                condition=models.Q(stage="completion"),
                name="ratings_rating_completion_once",
            ),
            models.CheckConstraint(
                condition=(models.Q(stage="acceptance") & models.Q(case__isnull=True))
                | (models.Q(stage="completion") & models.Q(case__isnull=False, sequence=1)),
                name="ratings_rating_completion_has_case",
            ),
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
            # The monthly results and reports of one agency.
            models.Index(fields=["agency", "created_at"], name="ratings_rating_agency_idx"),
        ]

    def __str__(self) -> str:
        return f"{self.ticket} {self.level}"

    def save(self, *args, **kwargs):
        # A rating belongs to its ticket's site, and so to that site's agency.
        if self.ticket_id is not None and self._state.adding:
            self.site_id = self.ticket.site_id
        super().save(*args, **kwargs)


class FollowUp(models.Model):
    """差评核实整改: the handling of one bad rating. Assigned by the team lead to a
    person other than the rated clerk, who calls the citizen back (回访核实) and records
    the rectification and the reply given (整改答复), each by its due date; the team
    lead reviews the handling. An upheld appeal of the rating annuls it; an upheld
    citizen's appeal of the handling reopens it. Moves only through
    ratings.transitions."""

    class Status(models.TextChoices):
        OPEN = "open", _("Awaiting callback")
        VERIFIED = "verified", _("Called back, being rectified")
        REPLIED = "replied", _("Replied, awaiting review")
        CLOSED = "closed", _("Closed after review")
        ANNULLED = "annulled", _("Annulled: the rating was found unjust")

    rating = models.OneToOneField(
        Rating, verbose_name=_("rating"), on_delete=models.PROTECT, related_name="follow_up"
    )
    status = models.CharField(
        _("status"), max_length=10, choices=Status.choices, default=Status.OPEN
    )
    callback_due = models.DateField(_("callback due"))
    reply_due = models.DateField(_("reply due"))
    # Who verifies and rectifies: set by the team lead; until then the team lead does.
    assignee = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        verbose_name=_("assigned to"),
        null=True,
        blank=True,
        on_delete=models.PROTECT,
        related_name="+",
    )
    callback_at = models.DateTimeField(_("called back at"), null=True, blank=True)
    callback_note = models.TextField(_("callback note"), blank=True)
    reply = models.TextField(_("reply"), blank=True)
    replied_at = models.DateTimeField(_("replied at"), null=True, blank=True)
    # The person who recorded the last callback or reply (never the reviewer).
    handled_by = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        verbose_name=_("handled by"),
        null=True,
        blank=True,
        on_delete=models.PROTECT,
        related_name="+",
    )
    reviewed_by = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        verbose_name=_("reviewed by"),
        null=True,
        blank=True,
        on_delete=models.PROTECT,
        related_name="+",
    )
    reviewed_at = models.DateTimeField(_("reviewed at"), null=True, blank=True)
    review_note = models.TextField(_("review note"), blank=True)
    objects = AuditedManager()
    history = HistoricalRecords(table_name="counters_historicalfollowup")

    class Meta:
        verbose_name = _("follow-up")
        verbose_name_plural = _("follow-ups")
        db_table = "counters_followup"
        indexes = [
            # The team lead's and the assignee's lists: the unfinished follow-ups by due date.
            models.Index(fields=["status", "reply_due"], name="ratings_followup_status_idx"),
        ]

    def __str__(self) -> str:
        return str(self.rating)


class Appeal(models.Model):
    """申诉: the rated clerk's appeal of a bad rating they consider unjust (误评, 恶意差评),
    or the citizen's appeal of how their bad rating was handled. Decided, with reasons,
    by a team lead or an auditor who is neither the appellant nor the follow-up's
    handler. Moves only through ratings.transitions."""

    class Kind(models.TextChoices):
        RATING = "rating", _("Clerk's appeal of the rating")
        HANDLING = "handling", _("Citizen's appeal of the handling")

    class Status(models.TextChoices):
        PENDING = "pending", _("Pending")
        UPHELD = "upheld", _("Upheld")
        DISMISSED = "dismissed", _("Dismissed")

    follow_up = models.ForeignKey(
        FollowUp, verbose_name=_("follow-up"), on_delete=models.PROTECT, related_name="appeals"
    )
    kind = models.CharField(_("kind"), max_length=10, choices=Kind.choices)
    status = models.CharField(
        _("status"), max_length=10, choices=Status.choices, default=Status.PENDING
    )
    # The clerk who appeals; null for a citizen's appeal (made from the ticket's token).
    appellant = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        verbose_name=_("appellant"),
        null=True,
        blank=True,
        on_delete=models.PROTECT,
        related_name="+",
    )
    statement = models.TextField(_("grounds"))
    filed_at = models.DateTimeField(_("filed at"), auto_now_add=True)
    decided_by = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        verbose_name=_("decided by"),
        null=True,
        blank=True,
        on_delete=models.PROTECT,
        related_name="+",
    )
    decided_at = models.DateTimeField(_("decided at"), null=True, blank=True)
    decision_reason = models.TextField(_("reasons for the decision"), blank=True)
    objects = AuditedManager()
    history = HistoricalRecords()

    class Meta:
        verbose_name = _("appeal")
        verbose_name_plural = _("appeals")
        constraints = [
            # One appeal of each kind per follow-up: no second try after a dismissal.
            models.UniqueConstraint(fields=["follow_up", "kind"], name="ratings_appeal_once"),
            models.CheckConstraint(
                condition=(models.Q(kind="rating") & models.Q(appellant__isnull=False))
                | (models.Q(kind="handling") & models.Q(appellant__isnull=True)),
                name="ratings_appeal_appellant_by_kind",
            ),
            models.CheckConstraint(
                condition=models.Q(status="pending")
                | (models.Q(decided_by__isnull=False) & ~models.Q(decision_reason="")),
                name="ratings_appeal_decided_with_reasons",
            ),
        ]
        indexes = [
            # The deciders' queue: pending appeals, oldest first.
            models.Index(fields=["status", "filed_at"], name="ratings_appeal_status_idx"),
        ]

    def __str__(self) -> str:
        return f"{self.get_kind_display()} {self.follow_up_id}"
