from django.conf import settings
from django.db import models
from django.utils.translation import gettext_lazy as _


class Heartbeat(models.Model):
    """The last time a background component showed it is alive: `worker` (a worker ran
    the heartbeat task) and `beat` (beat published it). Written by operations.services,
    read by /readyz, the live hall's banner and the metrics."""

    name = models.CharField(_("component"), max_length=32, primary_key=True)
    seen_at = models.DateTimeField(_("last seen"))
    detail = models.CharField(_("detail"), max_length=200, blank=True)

    class Meta:
        verbose_name = _("heartbeat")
        verbose_name_plural = _("heartbeats")

    def __str__(self) -> str:
        return self.name


class TaskRunCount(models.Model):
    """How many times each Celery task ran in a worker, by outcome. Kept in the database
    rather than in each worker's memory so one scrape of /metrics sees every worker on
    every host; monotonic, as Prometheus counters are."""

    task_name = models.CharField(_("task"), max_length=128)
    outcome = models.CharField(_("outcome"), max_length=16)
    count = models.PositiveBigIntegerField(_("count"), default=0)

    class Meta:
        verbose_name = _("task run count")
        verbose_name_plural = _("task run counts")
        constraints = [
            models.UniqueConstraint(
                fields=["task_name", "outcome"], name="operations_task_run_unique"
            )
        ]

    def __str__(self) -> str:
        return f"{self.task_name} {self.outcome}"


class DestructionDecision(models.Model):
    """A case file past its archive retention, put up for destruction (销毁) by one person
    and decided by a second person holding the other role (the team lead and the auditor,
    either way round). Nothing is destroyed without an approved decision. Changes status
    only in operations.transitions."""

    class Status(models.TextChoices):
        PROPOSED = "proposed", _("Proposed, awaiting the second person")
        DESTROYED = "destroyed", _("Approved and destroyed")
        DECLINED = "declined", _("Declined")
        WITHDRAWN = "withdrawn", _("Withdrawn by the proposer")

    case = models.ForeignKey(
        "counters.Case",
        verbose_name=_("case"),
        on_delete=models.PROTECT,
        related_name="destruction_decisions",
    )
    status = models.CharField(
        _("status"), max_length=16, choices=Status.choices, default=Status.PROPOSED
    )
    # The retention the case was judged against, and the day it ran out.
    retention = models.CharField(_("archive retention"), max_length=16)
    retention_ended = models.DateField(_("retention ended on"))
    proposed_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, verbose_name=_("proposed by"), on_delete=models.PROTECT,
        related_name="+",
    )  # fmt: skip
    proposed_role = models.CharField(_("proposer's role"), max_length=32)
    proposal_reason = models.CharField(_("reason for the proposal"), max_length=500)
    proposed_at = models.DateTimeField(_("proposed at"))
    decided_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, verbose_name=_("decided by"), null=True, blank=True,
        on_delete=models.PROTECT, related_name="+",
    )  # fmt: skip
    decided_role = models.CharField(_("decider's role"), max_length=32, blank=True)
    decision_reason = models.CharField(_("reason for the decision"), max_length=500, blank=True)
    decided_at = models.DateTimeField(_("decided at"), null=True, blank=True)

    class Meta:
        verbose_name = _("destruction decision")
        verbose_name_plural = _("destruction decisions")
        constraints = [
            # One live decision per case: a declined or withdrawn one may be proposed again.
            models.UniqueConstraint(
                fields=["case"],
                condition=models.Q(status__in=["proposed", "destroyed"]),
                name="operations_one_live_destruction_per_case",
            ),
            models.CheckConstraint(
                condition=~models.Q(decided_by=models.F("proposed_by")),
                name="operations_destruction_two_people",
            ),
        ]
        indexes = [
            # The screens' lists: pending decisions, and the history newest first.
            models.Index(fields=["status", "-proposed_at"], name="operations_destruction_idx"),
        ]

    def __str__(self) -> str:
        return f"{self.case_id} {self.status}"


class CaseTombstone(models.Model):
    """What is left of a destroyed case file: the SHA-256 of its e-archive manifest
    (inspection.archive) taken just before destruction, and the manifest itself (file
    names, hashes and sizes: no personal data), so the audit chain's events about the
    case, the reports and the counts still have their case, and anyone holding an
    earlier export of the e-archive can prove it was this file."""

    case = models.OneToOneField(
        "counters.Case", verbose_name=_("case"), on_delete=models.PROTECT,
        related_name="tombstone",
    )  # fmt: skip
    decision = models.OneToOneField(
        DestructionDecision, verbose_name=_("destruction decision"), on_delete=models.PROTECT,
        related_name="tombstone",
    )  # fmt: skip
    manifest_sha256 = models.CharField(_("manifest SHA-256"), max_length=64)
    manifest = models.JSONField(_("manifest"))
    destroyed_at = models.DateTimeField(_("destroyed at"))

    class Meta:
        verbose_name = _("case tombstone")
        verbose_name_plural = _("case tombstones")

    def __str__(self) -> str:
        return f"{self.case_id} {self.manifest_sha256[:12]}"
