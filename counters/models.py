import secrets

from django.conf import settings
from django.db import models
from django.utils.translation import gettext_lazy as _
from django.utils.translation import pgettext_lazy
from simple_history.models import HistoricalRecords

from audit.bulk import AuditedManager
from langzhong_si.history import history_read_by_record
from sites.defaults import home_site_id
from sites.models import AtSite


class Queue(models.TextChoices):
    HALL = "A", _("Comprehensive counter")
    BACK_OFFICE = "B", _("Back-office items")


def _new_token() -> str:
    return secrets.token_urlsafe(24)


class NumberSequence(models.Model):
    """Per-day counters for queue numbers and case numbers where the database has no
    sequences (SQLite). On PostgreSQL each day and key has a SEQUENCE of its own
    (services.number_take); a row here then only gives the start of a day begun before
    that (migration 0015)."""

    day = models.DateField(_("day"))
    key = models.CharField(_("sequence"), max_length=16)
    last = models.PositiveIntegerField(_("last number"), default=0)

    class Meta:
        verbose_name = _("number sequence")
        verbose_name_plural = _("number sequences")
        constraints = [
            models.UniqueConstraint(fields=["day", "key"], name="counters_sequence_unique_day_key")
        ]

    def __str__(self) -> str:
        return f"{self.day} {self.key}"


class Window(models.Model):
    """A physical counter position. The clerk signed on to it is the one the hall
    dispatch may draw while the window is ready."""

    class State(models.TextChoices):
        OFFLINE = "offline", _("Offline")
        READY = "ready", _("Ready")
        SERVING = "serving", _("Serving")
        PAUSED = "paused", _("Paused")

    # The site the window stands in; its number is unique within the site.
    site = models.ForeignKey(
        "sites.Site",
        verbose_name=_("site"),
        on_delete=models.PROTECT,
        related_name="windows",
        default=home_site_id,
    )
    number = models.PositiveSmallIntegerField(_("window number"))
    zone = models.CharField(_("functional zone"), max_length=64, blank=True)
    queue = models.CharField(_("queue served"), max_length=1, choices=Queue.choices)
    clerk = models.OneToOneField(
        settings.AUTH_USER_MODEL,
        verbose_name=_("clerk signed on"),
        null=True,
        blank=True,
        on_delete=models.PROTECT,
        related_name="window",
    )
    state = models.CharField(
        _("state"), max_length=16, choices=State.choices, default=State.OFFLINE
    )
    state_since = models.DateTimeField(_("state since"), null=True, blank=True)
    pause_reason = models.CharField(_("pause reason"), max_length=64, blank=True)
    current_ticket = models.OneToOneField(
        "counters.Ticket",
        verbose_name=_("ticket being served"),
        null=True,
        blank=True,
        on_delete=models.PROTECT,
        related_name="+",
    )
    objects = AuditedManager()
    history = history_read_by_record("site", "clerk", "current_ticket")

    class Meta:
        verbose_name = _("window")
        verbose_name_plural = _("windows")
        ordering = ["site_id", "number"]
        constraints = [
            models.UniqueConstraint(
                fields=["site", "number"], name="counters_window_number_per_site"
            ),
            models.CheckConstraint(
                condition=models.Q(state="offline") | models.Q(clerk__isnull=False),
                name="counters_window_staffed_unless_offline",
            ),
            models.CheckConstraint(
                condition=(
                    models.Q(state="serving", current_ticket__isnull=False)
                    | (~models.Q(state="serving") & models.Q(current_ticket__isnull=True))
                ),
                name="counters_window_serving_iff_ticket",
            ),
        ]
        indexes = [
            # The dispatch's ready pool for one queue.
            models.Index(fields=["site", "queue", "state"], name="counters_window_ready_idx"),
        ]

    def __str__(self) -> str:
        return str(self.number)


class Ticket(AtSite):
    class Status(models.TextChoices):
        WAITING = "waiting", _("Waiting")
        SERVING = "serving", _("Being served")
        DONE = "done", _("Done")
        NO_SHOW = "no_show", _("No-show")
        CANCELLED = "cancelled", _("Cancelled")

    service_date = models.DateField(_("service date"))
    queue = models.CharField(_("queue"), max_length=1, choices=Queue.choices)
    sequence = models.PositiveIntegerField(_("sequence"))
    item = models.ForeignKey(
        "catalog.ServiceItem",
        verbose_name=_("item"),
        null=True,
        blank=True,
        on_delete=models.PROTECT,
        related_name="+",
    )
    is_consultation = models.BooleanField(_("consultation"), default=False)
    # An appointment's ticket (appointments.services checks in a booking): from the start
    # of the booked slot it is called before walk-in tickets of its queue. Null for walk-ins.
    booked_slot_start = models.DateTimeField(_("booked slot starts"), null=True, blank=True)

    class PriorityReason(models.TextChoices):
        NONE = "", _("None")
        AGE_70 = "age_70", _("Aged 70 or over")
        DISABLED = "disabled", pgettext_lazy("priority", "Disabled")
        VETERAN = "veteran", _("Veteran")

    is_priority = models.BooleanField(_("priority"), default=False)
    # Disabled and veteran requests wait for a window lead's confirmation; age is read
    # from the ID number and needs none.
    priority_reason = models.CharField(
        _("priority reason"), max_length=16, choices=PriorityReason.choices, blank=True
    )
    priority_confirmed_by = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        verbose_name=_("priority confirmed by"),
        null=True,
        blank=True,
        on_delete=models.PROTECT,
        related_name="+",
    )
    # Opens the citizen's ticket page (from the slip's QR code): status, cancel, rating.
    public_token = models.CharField(
        _("public token"), max_length=43, unique=True, default=_new_token, editable=False
    )
    requeue_count = models.PositiveSmallIntegerField(_("re-queued"), default=0)
    # Tickets this citizen cancelled earlier the same day; past the limit the ticket is
    # flagged as possible fishing for another clerk.
    earlier_cancellations = models.PositiveSmallIntegerField(_("earlier cancellations"), default=0)
    flagged_retake = models.BooleanField(_("flagged: repeated re-taking"), default=False)
    # Keyed hash only: lets the hall spot a citizen re-taking tickets without storing the number.
    applicant_id_digest = models.CharField(_("applicant ID digest"), max_length=64, blank=True)
    status = models.CharField(
        _("status"), max_length=16, choices=Status.choices, default=Status.WAITING
    )
    issued_at = models.DateTimeField(_("issued at"))
    called_at = models.DateTimeField(_("called at"), null=True, blank=True)
    finished_at = models.DateTimeField(_("finished at"), null=True, blank=True)
    window = models.ForeignKey(
        Window,
        verbose_name=_("window"),
        null=True,
        blank=True,
        on_delete=models.PROTECT,
        related_name="tickets",
    )
    clerk = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        verbose_name=_("clerk"),
        null=True,
        blank=True,
        on_delete=models.PROTECT,
        related_name="+",
    )
    recall_count = models.PositiveSmallIntegerField(_("recalls"), default=0)
    # called_at moves with every call again; a no-show's minimum wait counts from this.
    first_called_at = models.DateTimeField(_("first called at"), null=True, blank=True)
    # The kiosk that printed the slip: only it may show the slip, and only for a moment.
    issued_by = models.ForeignKey(
        "devices.HallDevice",
        verbose_name=_("issued by kiosk"),
        null=True,
        blank=True,
        on_delete=models.PROTECT,
        related_name="+",
    )
    objects = AuditedManager()
    history = history_read_by_record(
        "public_token", "site", "agency", "item", "priority_confirmed_by", "window", "clerk",
        "issued_by",
    )  # fmt: skip

    class Meta:
        verbose_name = _("ticket")
        verbose_name_plural = _("tickets")
        constraints = [
            # Numbers count per site, day and queue: two sites both have A001.
            models.UniqueConstraint(
                fields=["site", "service_date", "queue", "sequence"],
                name="counters_ticket_unique_number_per_site",
            ),
            models.CheckConstraint(
                condition=models.Q(status="waiting")
                | models.Q(status="cancelled")
                | models.Q(clerk__isnull=False),
                name="counters_ticket_called_has_clerk",
            ),
            # One open ticket per ID number and queue a day (services.ticket_issue checks
            # first and says so; this is the guard against a race that slips past).
            models.UniqueConstraint(
                fields=["service_date", "queue", "applicant_id_digest"],
                condition=models.Q(status__in=["waiting", "serving"])
                & ~models.Q(applicant_id_digest=""),
                name="counters_ticket_one_open_per_id_queue",
            ),
        ]
        indexes = [
            # The dispatch's "next waiting ticket" of one site's queue: priority first,
            # then order of issue.
            models.Index(
                fields=["site", "service_date", "queue", "-is_priority", "issued_at"],
                name="counters_ticket_site_wait_idx",
                condition=models.Q(status="waiting"),
            ),
            # Staff evaluation: the services a clerk called in a period.
            models.Index(fields=["called_at"], name="counters_ticket_called_idx"),
        ]

    def __str__(self) -> str:
        return self.display_number

    @property
    def display_number(self) -> str:
        return f"{self.queue}{self.sequence:03d}"


class Case(AtSite):
    """One application (办件) for one item by one applicant."""

    class Status(models.TextChoices):
        NOTIFIED = "notified", _("Notified, not accepted")
        AWAITING_MATERIALS = "awaiting_materials", _("Accepted, materials to follow")
        ENDED_UNSUPPLIED = "ended_unsupplied", _("Ended: promised materials not supplied")
        FINISHED = "finished", _("Finished on the spot")
        IN_REVIEW = "in_review", _("Under review")
        RETURNED = "returned", _("Returned for correction")
        APPROVED = "approved", _("Approved")
        REJECTED = "rejected", _("Rejected")
        FORWARDED = "forwarded", _("Forwarded to the back office")

    number = models.CharField(_("case number"), max_length=20, unique=True)
    ticket = models.ForeignKey(
        Ticket,
        verbose_name=_("ticket"),
        null=True,
        blank=True,
        on_delete=models.PROTECT,
        related_name="cases",
    )
    item = models.ForeignKey(
        "catalog.ServiceItem", verbose_name=_("item"), on_delete=models.PROTECT, related_name="+"
    )
    # The guide as it stood at acceptance: later catalog edits never rewrite an old case.
    guide_snapshot = models.JSONField(_("guide at acceptance"))
    risk_level = models.PositiveSmallIntegerField(_("risk level"))

    # 单位: for an employer's case the applicant_* person fields below hold the employer's
    # handling person (单位经办人), so recusal, blindness, masking and the citizen's
    # progress look-up cover them exactly as they cover a person applying.
    class ApplicantKind(models.TextChoices):
        PERSON = "person", _("Person")
        EMPLOYER = "employer", _("Employer")

    class AgentRelation(models.TextChoices):
        FAMILY = "family", _("Family member")
        EMPLOYEE = "employee", _("Employee of the employer")
        FRIEND = "friend", _("Friend or neighbour")
        OTHER = "other", _("Other")

    applicant_kind = models.CharField(
        _("applicant kind"), max_length=10, choices=ApplicantKind.choices, default="person"
    )
    employer_credit_code = models.CharField(
        _("unified social credit code"), max_length=18, blank=True, default=""
    )
    employer_name = models.CharField(_("employer name"), max_length=128, blank=True, default="")
    applicant_name = models.CharField(_("applicant name"), max_length=64)
    applicant_id_encrypted = models.TextField(_("applicant ID number (encrypted)"))
    applicant_id_digest = models.CharField(_("applicant ID digest"), max_length=64)
    applicant_id_masked = models.CharField(_("applicant ID number (masked)"), max_length=18)
    # Keyed hash of the ID number's last six characters: the counter's case search by the
    # last 4-6 digits finds cases without decrypting any row (cases.selectors).
    applicant_id_tail_digest = models.CharField(
        _("applicant ID ending digest"), max_length=64, blank=True
    )
    # The workbench form's one-time token: the same form submitted twice (F9 pressed
    # again, a double click, a resent request) can never open a second case.
    intake_token = models.CharField(_("intake form token"), max_length=64, blank=True)
    # Only for result notices by SMS; optional, shown masked.
    applicant_phone = models.CharField(_("applicant mobile number"), max_length=11, blank=True)
    # Found by clerk through counters_case_handler_idx, which starts with it: an index of
    # its own would only cost every case's insert and status change an entry.
    handler = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        verbose_name=_("handling clerk"),
        on_delete=models.PROTECT,
        related_name="+",
        db_index=False,
    )
    # 代办人: someone acting for the applicant, with their own identity, held like the
    # applicant's (encrypted, a keyed digest for recusal and the repeated-pair rule).
    agent_name = models.CharField(_("agent name"), max_length=64, blank=True, default="")
    agent_id_encrypted = models.TextField(_("agent ID number (encrypted)"), blank=True, default="")
    agent_id_digest = models.CharField(_("agent ID digest"), max_length=64, blank=True, default="")
    agent_id_masked = models.CharField(
        _("agent ID number (masked)"), max_length=18, blank=True, default=""
    )
    agent_relation = models.CharField(
        _("agent's relation to the applicant"),
        max_length=10,
        choices=AgentRelation.choices,
        blank=True,
        default="",
    )
    # 帮办代办: the hall staff member who helped the citizen through the application; left
    # out of every draw of this case.
    assisting_staff = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        verbose_name=_("assisting staff member (帮办代办)"),
        null=True,
        blank=True,
        on_delete=models.PROTECT,
        related_name="+",
    )
    # [{"material_id", "name", "is_key", "required", "received"}] as ticked at intake.
    checklist = models.JSONField(_("materials checklist"))
    status = models.CharField(_("status"), max_length=20, choices=Status.choices)
    # The chain after the clerk (step roles) and each step's office hours, fixed when the
    # case is submitted so later policy edits never change a running case.
    review_chain = models.JSONField(_("review chain"), default=list)
    step_hours = models.PositiveSmallIntegerField(_("office hours per step"), default=4)
    # The submission round: a returned case resubmitted starts round + 1 with fresh draws.
    review_round = models.PositiveSmallIntegerField(_("review round"), default=0)
    current_step = models.PositiveSmallIntegerField(_("current step"), default=0)
    accepted_at = models.DateTimeField(_("accepted at"))
    # 容缺受理: the date by which the promised non-key materials must be in.
    deferred_due = models.DateField(_("materials due"), null=True, blank=True)
    due_date = models.DateField(_("promised completion date"))
    finished_at = models.DateTimeField(_("finished at"), null=True, blank=True)
    objects = AuditedManager()
    history = history_read_by_record(
        "number", "site", "agency", "ticket", "item", "handler", "assisting_staff"
    )

    class Meta:
        verbose_name = _("case")
        verbose_name_plural = _("cases")
        constraints = [
            models.CheckConstraint(
                condition=models.Q(risk_level__lte=3), name="counters_case_risk_level_0_3"
            ),
            models.CheckConstraint(
                condition=~models.Q(status="in_review") | models.Q(current_step__gte=1),
                name="counters_case_in_review_has_step",
            ),
            models.CheckConstraint(
                condition=(
                    models.Q(applicant_kind="person", employer_credit_code="")
                    | (models.Q(applicant_kind="employer") & ~models.Q(employer_credit_code=""))
                ),
                name="counters_case_employer_has_credit_code",
            ),
            models.CheckConstraint(
                condition=models.Q(agent_id_digest="", agent_name="")
                | (~models.Q(agent_id_digest="") & ~models.Q(agent_name="")),
                name="counters_case_agent_complete",
            ),
            models.UniqueConstraint(
                fields=["intake_token"],
                condition=~models.Q(intake_token=""),
                name="counters_case_one_per_intake_token",
            ),
        ]
        indexes = [
            # A citizen's cases (progress look-up, recusal of relatives).
            models.Index(fields=["applicant_id_digest"], name="counters_case_applicant_idx"),
            # Recusal of an agent's relatives and the repeated-pair rule over agents.
            models.Index(
                fields=["agent_id_digest"],
                name="counters_case_agent_idx",
                condition=~models.Q(agent_id_digest=""),
            ),
            # The counter's case search by the last digits of the ID number.
            models.Index(fields=["applicant_id_tail_digest"], name="counters_case_id_tail_idx"),
            # The clerk's own recent cases.
            models.Index(fields=["handler", "-accepted_at"], name="counters_case_handler_idx"),
            # Period reports: the cases accepted in a date range.
            models.Index(fields=["accepted_at"], name="counters_case_accepted_idx"),
            # The one-visit figure: did this citizen get a notice for this item before?
            models.Index(
                fields=["applicant_id_digest", "item", "accepted_at"],
                name="counters_case_notice_idx",
                condition=models.Q(status="notified"),
            ),
            # The live view: open cases past their promised date.
            models.Index(
                fields=["due_date"],
                name="counters_case_open_due_idx",
                condition=models.Q(status__in=["in_review", "returned", "awaiting_materials"]),
            ),
        ]

    def __str__(self) -> str:
        return self.number


class SmsMessage(models.Model):
    """A text message to a citizen, recorded before it is sent so it is sent exactly once."""

    case = models.ForeignKey(
        Case, verbose_name=_("case"), on_delete=models.PROTECT, related_name="sms"
    )
    phone = models.CharField(_("mobile number"), max_length=11)
    text = models.CharField(_("text"), max_length=300)
    dedupe_key = models.CharField(_("deduplication key"), max_length=128, unique=True)
    created_at = models.DateTimeField(_("created at"), auto_now_add=True)
    sent_at = models.DateTimeField(_("sent at"), null=True, blank=True)

    class Meta:
        verbose_name = _("SMS message")
        verbose_name_plural = _("SMS messages")

    def __str__(self) -> str:
        return self.dedupe_key


class CaseDocument(models.Model):
    """A scanned material in the case file. Stored under its content hash with its
    metadata stripped, served only through a permission check; immutable once its case
    has left intake. The uploaded file's own name is never kept: it may name the clerk."""

    case = models.ForeignKey(
        Case, verbose_name=_("case"), on_delete=models.PROTECT, related_name="documents"
    )
    # The checklist row it scans (None: a supplementary scan), and the neutral name shown
    # to the chain and in the archive, e.g. "材料2-解除劳动关系证明.pdf".
    material_id = models.PositiveIntegerField(_("material"), null=True, blank=True)
    display_name = models.CharField(_("name"), max_length=160)
    file = models.FileField(_("file"), upload_to="scans/")
    content_type = models.CharField(pgettext_lazy("file", "content type"), max_length=32)
    size = models.PositiveIntegerField(_("size in bytes"))
    sha256 = models.CharField(_("SHA-256"), max_length=64)
    uploaded_by = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        verbose_name=_("uploaded by"),
        on_delete=models.PROTECT,
        related_name="+",
    )
    uploaded_at = models.DateTimeField(_("uploaded at"), auto_now_add=True)
    objects = AuditedManager()
    history = HistoricalRecords()

    class Meta:
        verbose_name = _("case document")
        verbose_name_plural = _("case documents")
        constraints = [
            models.UniqueConstraint(
                fields=["case", "display_name"], name="counters_document_unique_name"
            )
        ]

    def __str__(self) -> str:
        return self.display_name
