from django.conf import settings
from django.db import models
from django.utils import timezone
from django.utils.translation import gettext_lazy as _
from django.utils.translation import pgettext_lazy
from simple_history.models import HistoricalRecords

from audit.bulk import AuditedManager
from langzhong_si.history import history_read_by_record
from sites.defaults import home_agency_id


class StepRole(models.TextChoices):
    REVIEW = "review", _("Review")
    APPROVAL = "approval", _("Approval")
    SECOND_APPROVAL = "second_approval", _("Second approval")


# the default policy (docs/glossary.md): the chain after the clerk for each risk level.
DEFAULT_CHAIN: dict[int, list[StepRole]] = {
    0: [],
    1: [StepRole.REVIEW],
    2: [StepRole.REVIEW, StepRole.APPROVAL],
    3: [StepRole.REVIEW, StepRole.APPROVAL, StepRole.SECOND_APPROVAL],
}


class DrawScope(models.TextChoices):
    """Where a step's pool comes from, relative to the case's site (RiskPolicy)."""

    SITE = "site", _("The case's own site")
    AGENCY = "agency", _("Every site of the case's agency")
    # "前台受理、后台审核": the station accepts, the county hall reviews and approves.
    HALL = "hall", _("The agency's hall only")


# The default scope per risk level (docs/glossary.md), for review and approval alike: a
# level-1 case may be reviewed by any qualified person of the agency (a station's own
# reviewer too); levels 2–3 are reviewed and approved in the hall, the agency's practice.
# In a deployment of one hall every scope is that hall.
DEFAULT_SCOPE: dict[int, str] = {
    0: DrawScope.HALL,
    1: DrawScope.AGENCY,
    2: DrawScope.HALL,
    3: DrawScope.HALL,
}


class ReviewTask(models.Model):
    """One step of one case's review chain, for one drawn person (attempt)."""

    class Status(models.TextChoices):
        AWAITING_DRAW = "awaiting_draw", _("Awaiting a qualified person")
        OPEN = "open", _("Open")
        APPROVED = "approved", pgettext_lazy("review step", "Approved")
        RETURNED = "returned", _("Returned")
        REJECTED = "rejected", _("Rejected")
        EXPIRED = "expired", _("Re-drawn after the time limit")
        SUPERSEDED = "superseded", _("Superseded by a resubmission")

    OPEN_STATES = (Status.AWAITING_DRAW, Status.OPEN)

    # Keeps its own index although risk_task_unique_attempt starts with it: Django's
    # AlterField to db_index=False drops every plain index on the column alone, the
    # partial unique risk_task_one_open_per_case included (tests/test_busy_indexes.py).
    case = models.ForeignKey(
        "counters.Case", verbose_name=_("case"), on_delete=models.PROTECT, related_name="tasks"
    )
    # The case's agency, kept on the row like the case's own: the table can be
    # partitioned by it, and the task's audit events carry it without a look-up.
    agency = models.ForeignKey(
        "sites.Agency",
        verbose_name=_("agency"),
        on_delete=models.PROTECT,
        related_name="+",
        default=home_agency_id,
    )
    review_round = models.PositiveSmallIntegerField(_("review round"))
    step = models.PositiveSmallIntegerField(_("step"))
    role = models.CharField(_("role"), max_length=16, choices=StepRole.choices)
    attempt = models.PositiveSmallIntegerField(_("attempt"), default=1)
    status = models.CharField(
        _("status"), max_length=16, choices=Status.choices, default=Status.AWAITING_DRAW
    )
    # Found by person through risk_task_inbox_idx, which starts with it: an index of its
    # own would only cost every task's insert and status change an entry.
    assignee = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        verbose_name=_("drawn person"),
        null=True,
        blank=True,
        on_delete=models.PROTECT,
        related_name="review_tasks",
        db_index=False,
    )
    draw = models.OneToOneField(
        "draws.Draw", verbose_name=_("draw"), null=True, blank=True, on_delete=models.PROTECT
    )
    # Stamped when the task is made, before its draw (which may write it: risk.services).
    created_at = models.DateTimeField(_("created at"), default=timezone.now, editable=False)
    assigned_at = models.DateTimeField(_("assigned at"), null=True, blank=True)
    due_at = models.DateTimeField(_("due at"), null=True, blank=True)
    decided_at = models.DateTimeField(_("decided at"), null=True, blank=True)
    comment = models.TextField(_("comment"), blank=True)
    objects = AuditedManager()
    history = history_read_by_record("case", "agency", "assignee", "draw")

    class Meta:
        verbose_name = _("review task")
        verbose_name_plural = _("review tasks")
        constraints = [
            # The idempotency key of a draw: one task per case, round, step and attempt.
            models.UniqueConstraint(
                fields=["case", "review_round", "step", "attempt"],
                name="risk_task_unique_attempt",
            ),
            # A case's chain is walked one step at a time: at most one task of a case
            # is waiting for a draw or a decision, whatever its round or step.
            models.UniqueConstraint(
                fields=["case"],
                condition=models.Q(status__in=["awaiting_draw", "open"]),
                name="risk_task_one_open_per_case",
            ),
            # Only a task still awaiting its draw (or superseded while it waited) has
            # nobody.
            models.CheckConstraint(
                condition=models.Q(status__in=["awaiting_draw", "superseded"])
                | models.Q(assignee__isnull=False),
                name="risk_task_drawn_has_assignee",
            ),
            models.CheckConstraint(
                condition=models.Q(step__gte=1, step__lte=3), name="risk_task_step_1_3"
            ),
        ]
        indexes = [
            # A person's inbox: their open tasks.
            models.Index(fields=["assignee", "status"], name="risk_task_inbox_idx"),
            # The beat job's overdue scan.
            models.Index(
                fields=["due_at"], name="risk_task_open_due_idx", condition=models.Q(status="open")
            ),
            # The live view: tasks still waiting for a person or a decision.
            models.Index(
                fields=["created_at"],
                name="risk_task_unfinished_idx",
                condition=models.Q(status__in=["awaiting_draw", "open"]),
            ),
            # Period reports and evaluation: tasks created / decided in a date range.
            models.Index(fields=["created_at"], name="risk_task_created_idx"),
            models.Index(fields=["decided_at"], name="risk_task_decided_idx"),
        ]

    def __str__(self) -> str:
        return f"{self.case_id}/{self.review_round}/{self.step}/{self.attempt}"


class ChainPolicy(models.Model):
    """A review chain: the steps after the clerk and each step's limit in office hours."""

    steps = models.JSONField(_("steps after the clerk"))
    step_hours = models.PositiveSmallIntegerField(
        _("time limit per step (office hours)"), default=4
    )
    # Where each step's pool comes from: the review step's, and the approval steps'
    # (a second approval draws from the approvers' pool, in the same scope).
    review_scope = models.CharField(
        _("review pool from"), max_length=8, choices=DrawScope.choices, default=DrawScope.HALL
    )
    approval_scope = models.CharField(
        _("approval pool from"), max_length=8, choices=DrawScope.choices, default=DrawScope.HALL
    )
    objects = AuditedManager()

    class Meta:
        abstract = True


def _scope_constraints(prefix: str) -> list[models.CheckConstraint]:
    return [
        models.CheckConstraint(
            condition=models.Q(**{f"{field}__in": DrawScope.values}),
            name=f"{prefix}_{field}_known",
        )
        for field in ("review_scope", "approval_scope")
    ]


class RiskPolicy(ChainPolicy):
    """The chain after the clerk for one risk level, and each step's time limit in
    office hours. Defaults follow docs/glossary.md; the team lead edits them with a reason."""

    level = models.PositiveSmallIntegerField(_("risk level"), unique=True)
    history = HistoricalRecords()

    class Meta:
        verbose_name = _("risk policy")
        verbose_name_plural = _("risk policies")
        ordering = ["level"]
        constraints = [
            models.CheckConstraint(condition=models.Q(level__lte=3), name="risk_policy_level_0_3"),
            models.CheckConstraint(
                condition=models.Q(step_hours__gte=1), name="risk_policy_hours_1"
            ),
            *_scope_constraints("risk_policy"),
        ]

    def __str__(self) -> str:
        return _("Risk level %(level)s") % {"level": self.level}


class ItemRiskPolicy(ChainPolicy):
    """A per-item override of its level's chain (e.g. a level-2 item that also needs
    a second approval)."""

    item = models.OneToOneField(
        "catalog.ServiceItem",
        verbose_name=_("item"),
        on_delete=models.CASCADE,
        related_name="risk_policy",
    )
    history = HistoricalRecords()

    class Meta:
        verbose_name = _("item risk policy")
        verbose_name_plural = _("item risk policies")
        constraints = _scope_constraints("risk_item_policy")

    def __str__(self) -> str:
        return str(self.item)


class Qualification(models.Model):
    """A grant of the right to review or approve cases up to a risk level, for a period."""

    class Kind(models.TextChoices):
        REVIEW = "review", _("Review")
        APPROVAL = "approval", _("Approval")

    user = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        verbose_name=_("person"),
        on_delete=models.PROTECT,
        related_name="qualifications",
    )
    kind = models.CharField(_("kind"), max_length=16, choices=Kind.choices)
    level = models.PositiveSmallIntegerField(_("up to risk level"))
    # Null: at any site of the person's agency. A site: only when the person is drawn
    # as that site's staff (the site is in the step's scope and the person works there).
    site = models.ForeignKey(
        "sites.Site",
        verbose_name=_("limited to site"),
        null=True,
        blank=True,
        on_delete=models.PROTECT,
        related_name="+",
    )
    valid_from = models.DateField(_("valid from"))
    valid_to = models.DateField(_("valid to"), null=True, blank=True)
    granted_by = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        verbose_name=_("granted by"),
        null=True,
        blank=True,
        on_delete=models.PROTECT,
        related_name="+",
    )
    reason = models.CharField(_("reason"), max_length=200)
    granted_at = models.DateTimeField(_("granted at"), auto_now_add=True)
    revoked_at = models.DateTimeField(_("revoked at"), null=True, blank=True)
    objects = AuditedManager()
    history = HistoricalRecords()

    class Meta:
        verbose_name = _("qualification")
        verbose_name_plural = _("qualifications")
        constraints = [
            models.CheckConstraint(
                condition=models.Q(level__gte=1, level__lte=3), name="risk_qualification_level_1_3"
            ),
            models.CheckConstraint(
                condition=models.Q(valid_to__isnull=True)
                | models.Q(valid_to__gte=models.F("valid_from")),
                name="risk_qualification_period",
            ),
        ]
        indexes = [
            # The draw's pool: qualifications of one kind in force.
            models.Index(fields=["kind", "user"], name="risk_qualification_pool_idx"),
        ]

    def __str__(self) -> str:
        # Shown in the admin's messages and history: a sentence, not the stored codes.
        return _("%(person)s: %(kind)s up to risk level %(level)s") % {
            "person": self.user,
            "kind": self.get_kind_display(),
            "level": self.level,
        }


class LeavePeriod(models.Model):
    user = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        verbose_name=_("person"),
        on_delete=models.PROTECT,
        related_name="+",
    )
    start = models.DateField(_("first day"))
    end = models.DateField(_("last day"))
    reason = models.CharField(_("reason"), max_length=100, blank=True)
    objects = AuditedManager()
    history = HistoricalRecords()

    class Meta:
        verbose_name = _("leave")
        verbose_name_plural = _("leave")
        constraints = [
            models.CheckConstraint(
                condition=models.Q(end__gte=models.F("start")), name="risk_leave_period"
            )
        ]

    def __str__(self) -> str:
        return f"{self.user} {self.start}–{self.end}"


class StaffRelative(models.Model):
    """A relative a staff member declared, so the draws recuse them from the relative's
    cases. Only the keyed hash of the relative's ID number is stored."""

    class Relation(models.TextChoices):
        # 公务员回避: spouse, lineal blood relatives, collateral within three generations
        # and close relatives by marriage.
        SPOUSE = "spouse", _("Spouse")
        PARENT = "parent", _("Parent")
        CHILD = "child", _("Child")
        SIBLING = "sibling", _("Brother or sister")
        GRANDPARENT = "grandparent", _("Grandparent or grandchild")
        COLLATERAL = "collateral", _("Other blood relative within three generations")
        IN_LAW = "in_law", _("Close relative by marriage")

    user = models.ForeignKey(
        settings.AUTH_USER_MODEL, verbose_name=_("staff member"), on_delete=models.PROTECT,
        related_name="declared_relatives",
    )  # fmt: skip
    id_number_digest = models.CharField(_("relative's ID digest"), max_length=64)
    relation = models.CharField(_("relation"), max_length=32)
    declared_at = models.DateTimeField(_("declared at"), auto_now_add=True)
    objects = AuditedManager()
    history = HistoricalRecords()

    class Meta:
        verbose_name = _("declared relative")
        verbose_name_plural = _("declared relatives")
        constraints = [
            models.UniqueConstraint(
                fields=["user", "id_number_digest"], name="risk_relative_unique"
            )
        ]
        indexes = [
            # Recusal look-up: who is related to this applicant.
            models.Index(fields=["id_number_digest"], name="risk_relative_digest_idx"),
        ]

    def __str__(self) -> str:
        return f"{self.user} {self.relation}"


class RecusalDeclaration(models.Model):
    """When a staff member last confirmed their recusal data (own ID number and
    relatives) complete and current. The data itself is keyed hashes elsewhere:
    StaffProfile.id_number_digest and StaffRelative."""

    user = models.OneToOneField(
        settings.AUTH_USER_MODEL,
        verbose_name=_("staff member"),
        on_delete=models.PROTECT,
        related_name="recusal_declaration",
    )
    confirmed_at = models.DateTimeField(_("last confirmed at"))
    objects = AuditedManager()
    history = HistoricalRecords()

    class Meta:
        verbose_name = _("recusal declaration")
        verbose_name_plural = _("recusal declarations")
        indexes = [
            # The yearly reminder: declarations confirmed before a cut-off.
            models.Index(fields=["confirmed_at"], name="risk_recusal_confirmed_idx"),
        ]

    def __str__(self) -> str:
        return f"{self.user} {self.confirmed_at:%Y-%m-%d}"
