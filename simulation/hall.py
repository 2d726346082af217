"""A simulated hall, run through the real services on a simulated clock.

Citizens arrive by hour and weekday and take tickets at the kiosk; the dispatch hands
them to random ready clerks; clerks take materials (some missing: one-time notices and
容缺), finish and are rated; reviewers and approvers, drawn as each step opens, decide at
human speed (one of them slow, so the time limit re-draws); returned cases are
resubmitted, bad ratings followed up, findings inspected, the nightly audit run. Only
the services write: every rule, draw and audit event applies exactly as in the hall.

`seed` fixes the citizens' and staff's behaviour. The draws themselves stay random
(each day's secret seed comes from the OS), as the three randoms require.

Applicants come as they do in the hall (issue 16): about one case in seven is brought
by an agent (代办人) with the authorisation letter; items that concern employers are
mostly an employer's case (单位, a unified social credit code, the person handling it);
about a fifth of the tickets come from an appointment booked the day before, checked in
at the kiosk by swiping the ID card or typing the booking code (a few arrive late, a
few never come and are recorded as no-shows).

The agency works at several sites (issue 17): citizens come to the county hall or to a
township station (by default the hall takes 70 % of the arrivals and the stations share
the rest), take their ticket at that site's kiosk and are served by the clerks working
there; a station takes counter matters (back-office matters go to the hall). Reviewers
and approvers are the agency's, wherever the risk policy draws them from. Only the home
agency is simulated; another agency of the deployment is left as it is.
"""

from __future__ import annotations

import datetime
import heapq
import itertools
import random
from collections import Counter
from collections.abc import Callable
from contextlib import contextmanager
from dataclasses import dataclass, field
from unittest import mock

from celery import current_app as celery_app
from django.conf import settings
from django.contrib.auth import get_user_model
from django.core.exceptions import ValidationError
from django.db.models import Max
from django.utils import timezone

from appointments import services as appointment_services
from appointments.models import Appointment
from audit.models import Finding
from cases import services as case_services
from cases.services import Agent, Employer
from catalog.models import ServiceItem
from counters import services as counter_services
from counters.models import Case, Queue, Ticket, Window
from devices.models import HallDevice
from draws.services import daily_seeds_rotate
from inbox.services import Decision, review_task_decide
from inspection.rules import nightly_audit
from inspection.services import finding_inspect
from langzhong_si.calendar import is_working_day, working_days_after, working_hours_after
from langzhong_si.errors import StateConflict
from langzhong_si.identity import (
    CREDIT_CODE_CHARS,
    credit_code_check_char,
    id_number_check_char,
)
from ratings import services as rating_services
from ratings.models import FollowUp, Rating
from risk.models import Qualification, ReviewTask
from risk.selectors import review_pool
from risk.services import qualification_grant, review_tasks_redraw_overdue
from sites.defaults import home_agency_id
from sites.models import Site
from sites.selectors import agency_sites
from staff.roles import Role

# Relative arrivals per half hour from 08:30 (the hall's typical day: a morning peak,
# a quieter afternoon), and per weekday (Monday busiest).
HALF_HOUR_WEIGHTS = {
    (8, 30): 1.2, (9, 0): 1.6, (9, 30): 1.7, (10, 0): 1.6, (10, 30): 1.3, (11, 0): 0.9,
    (11, 30): 0.4, (14, 0): 0.9, (14, 30): 1.2, (15, 0): 1.3, (15, 30): 1.2, (16, 0): 0.9,
    (16, 30): 0.4,
}  # fmt: skip
WEEKDAY_WEIGHTS = [1.25, 1.05, 1.0, 0.95, 0.85]
SURNAMES = "王李张刘陈杨赵黄周吴徐孙胡朱高林何郭马罗梁宋郑谢韩唐冯于董萧程曹袁邓许傅沈曾彭吕"
GIVEN = "伟芳娜秀英敏静丽强磊军洋勇艳杰娟涛明超兰霞平刚桂英华建国志红玉梅林淑珍春燕"
RETURN_COMMENT = "材料复印件不清晰，请补扫后重新提交"
REJECT_COMMENT = "经核查不符合申领条件"
BAD_RATING_REASON = "等候时间较长"
LANGZHONG_REGION = "511381"
# Shares of the hall's applicants: cases brought by an agent; cases of an item that
# concerns employers brought for the employer; tickets from an appointment, and of the
# booked citizens those who check in late or never come.
AGENT_SHARE = 0.15
EMPLOYER_SHARE = 0.9
APPOINTMENT_SHARE = 0.2
APPOINTMENT_LATE_SHARE = 0.05
APPOINTMENT_NO_SHOW_SHARE = 0.06
APPOINTMENTS_PER_SLOT = 12  # the team lead's capacity: more than the hall's bookings
# The hall's share of the arrivals; the stations share the rest equally.
HALL_SHARE = 0.7
AGENT_RELATIONS = [
    (Case.AgentRelation.FAMILY, 0.7),
    (Case.AgentRelation.FRIEND, 0.2),
    (Case.AgentRelation.OTHER, 0.1),
]
EMPLOYER_WORDS = "嘉陵锦屏古城保宁蜀北巴都天宫华光滨江"
EMPLOYER_KINDS = [
    "商贸有限公司",
    "建筑工程有限公司",
    "食品有限公司",
    "醋业有限公司",
    "物业管理有限公司",
    "农民专业合作社",
]


class SimulationClock:
    """The time every service sees while the simulation runs."""

    def __init__(self, moment: datetime.datetime):
        self.moment = moment

    def now(self) -> datetime.datetime:
        return self.moment


@contextmanager
def simulated_time(clock: SimulationClock):
    """Run the services on `clock`; background work runs inline, in order."""
    eager = celery_app.conf.task_always_eager
    celery_app.conf.task_always_eager = True
    try:
        with mock.patch("django.utils.timezone.now", clock.now):
            yield
    finally:
        celery_app.conf.task_always_eager = eager


@dataclass
class Citizen:
    name: str
    id_number: str
    phone: str
    # Where they go (and come back to): the id of one of the agency's sites.
    site_id: int = 0
    # How they apply, kept for a return visit: for an employer (they handle it), and/or
    # through an agent.
    employer: Employer | None = None
    agent: Agent | None = None


@dataclass
class SimulationSummary:
    working_days: int = 0
    counts: Counter = field(default_factory=Counter)


class HallSimulation:
    def __init__(
        self,
        *,
        first: datetime.date,
        last: datetime.date,
        seed: int,
        daily_tickets: int = 125,
        site_weights: dict[str, float] | None = None,
        log: Callable[[str], None] = lambda line: None,
    ):
        """`site_weights`: relative arrivals per site code of the home agency (by default
        HALL_SHARE at the hall, the rest shared by the stations)."""
        self.first, self.last = first, last
        self.rng = random.Random(seed)  # noqa: S311 - simulated behaviour, not a draw
        self.daily_tickets = daily_tickets
        self.log = log
        self.clock = SimulationClock(self._at(first, datetime.time(8, 0)))
        self.events: list = []
        self.sequence = itertools.count()
        self.summary = SimulationSummary()
        self.scheduled_tickets: set[int] = set()
        self.scheduled_tasks: set[int] = set()
        self.scheduled_cases: set[int] = set()
        self.tickets_planned: dict[int, tuple] = {}
        self.pools_filled: set[int] = set()
        self.closing = False  # clerks take no new ticket (lunch or evening)
        self.pending_work = 0  # returns, supplies, resubmits and follow-ups still to come
        self._load_sites(site_weights)
        self._load_people()
        self._load_items()

    # --- set-up -----------------------------------------------------------------------

    def _load_sites(self, weights: dict[str, float] | None) -> None:
        self.agency_id = home_agency_id()
        self.sites = list(agency_sites(agency_id=self.agency_id))
        stations = [site for site in self.sites if site.kind == Site.Kind.STATION]
        if weights is None:
            weights = {
                site.code: HALL_SHARE if site.kind == Site.Kind.HALL else 0.0 for site in self.sites
            }
            for station in stations:
                weights[station.code] = (1 - HALL_SHARE) / len(stations)
            if not stations:
                weights = {site.code: 1.0 for site in self.sites}
        unknown = set(weights) - {site.code for site in self.sites}
        if unknown or not any(weight > 0 for weight in weights.values()):
            raise ValueError(f"site weights name no site of the agency or are all zero: {weights}")
        self.site_weights = [weights.get(site.code, 0.0) for site in self.sites]
        self.hall = next(site for site in self.sites if site.kind == Site.Kind.HALL)
        # Each site's first kiosk issues its tickets (and checks its bookings in).
        self.kiosks: dict[int, HallDevice] = {}
        for kiosk in HallDevice.objects.filter(
            site__in=self.sites, kind=HallDevice.Kind.KIOSK, enabled=True
        ).order_by("pk"):
            self.kiosks.setdefault(kiosk.site_id, kiosk)

    def _load_people(self) -> None:
        # The agency's own staff: another agency of the deployment is not simulated.
        users = (
            get_user_model()
            .objects.select_related("staff_profile")
            .filter(is_active=True, staff_profile__sites__agency_id=self.agency_id)
            .distinct()
            .order_by("pk")
        )
        self.clerks = list(users.filter(groups__name=Role.CLERK))
        self.deciders = list(users.filter(groups__name__in=[Role.REVIEWER, Role.APPROVER]))
        self.lead = users.filter(groups__name=Role.TEAM_LEAD).first()
        self.auditor = users.filter(groups__name=Role.AUDITOR).first()
        self.windows = list(Window.objects.filter(site__in=self.sites).order_by("site", "number"))
        # Each clerk works at one of their sites' windows (the first by id among them).
        site_of_clerk = dict(
            Site.objects.filter(staff_profiles__user__in=self.clerks, agency_id=self.agency_id)
            .order_by("-pk")
            .values_list("staff_profiles__user", "pk")
        )
        self.clerks_at = {
            site.pk: [clerk for clerk in self.clerks if site_of_clerk.get(clerk.pk) == site.pk]
            for site in self.sites
        }
        unstaffed = [
            site.code
            for site, weight in zip(self.sites, self.site_weights, strict=True)
            if weight and not (self.clerks_at[site.pk] and site.pk in self.kiosks)
        ]
        if not self.clerks or not self.deciders or not self.windows or unstaffed:
            raise RuntimeError(
                "each site needs clerks, windows and a kiosk, the agency reviewers"
                f" (run seed_demo); missing at {unstaffed}"
            )
        # Decision speed in office minutes; the least qualified person is slow, so their
        # tasks run past the step's limit and are re-drawn.
        self.decision_minutes = {user.pk: self.rng.uniform(25, 60) for user in self.deciders}
        highest = dict(
            Qualification.objects.filter(revoked_at__isnull=True)
            .values("user")
            .annotate(level=Max("level"))
            .values_list("user", "level")
        )
        slow = min(self.deciders, key=lambda user: (highest.get(user.pk, 0), user.pk))
        self.decision_minutes[slow.pk] = 320.0
        self.users = {user.pk: user for user in [*self.clerks, *self.deciders]}

    def _load_items(self) -> None:
        items = list(
            ServiceItem.objects.filter(enabled=True)
            .select_related("category")
            .prefetch_related("materials")
        )
        self.rng.shuffle(items)
        level_weight = {0: 3.0, 1: 2.2, 2: 1.4, 3: 0.5}
        weights = []
        for rank, item in enumerate(items, 1):
            weight = level_weight[item.risk_level] / rank**0.6
            # Back-office items are a small share of what citizens bring to the hall.
            weights.append(weight * (1.0 if item.at_counter else 0.08))
        self.items, self.item_weights = items, weights
        # A station takes counter matters only; back-office matters are the hall's.
        self.station_item_weights = [
            weight if item.at_counter else 0.0 for item, weight in zip(items, weights, strict=True)
        ]
        self.materials = {
            item.pk: [m for m in item.materials.all() if m.required] for item in items
        }

    def _qualifications_backdate(self) -> None:
        """Staff set up after the simulated period (the demo hall is seeded today) get
        the same qualifications for the simulated days, recorded as such."""
        for qualification in Qualification.objects.filter(
            user__in=self.deciders, revoked_at__isnull=True, valid_from__gt=self.first
        ):
            qualification_grant(
                user=qualification.user,
                kind=qualification.kind,
                level=qualification.level,
                reason="hall simulation",
                valid_from=self.first,
                valid_to=qualification.valid_from - datetime.timedelta(days=1),
            )

    # --- the event loop ---------------------------------------------------------------------

    @staticmethod
    def _at(day: datetime.date, time: datetime.time) -> datetime.datetime:
        return timezone.make_aware(datetime.datetime.combine(day, time))

    def _schedule(self, moment: datetime.datetime, action: Callable, *args) -> None:
        heapq.heappush(self.events, (moment, next(self.sequence), action, args))

    def _office_after(self, minutes: float) -> datetime.datetime:
        return working_hours_after(timezone.localtime(self.clock.moment), minutes / 60)

    def run(self) -> SimulationSummary:
        with simulated_time(self.clock):
            self._qualifications_backdate()
            day = self.first
            overrun_limit = working_days_after(self.last, 15)
            while day <= overrun_limit:
                if is_working_day(day):
                    in_period = day <= self.last
                    if not in_period and not self._work_left():
                        break
                    self._plan_day(day, arrivals=in_period)
                    self.summary.working_days += in_period
                self._run_until(self._at(day + datetime.timedelta(days=1), datetime.time()))
                day += datetime.timedelta(days=1)
        return self.summary

    def _run_until(self, moment: datetime.datetime) -> None:
        while self.events and self.events[0][0] < moment:
            when, _seq, action, args = heapq.heappop(self.events)
            self.clock.moment = max(self.clock.moment, when)
            action(*args)

    def _work_left(self) -> bool:
        return (
            self.pending_work > 0
            or ReviewTask.objects.filter(status__in=ReviewTask.OPEN_STATES).exists()
            or Case.objects.filter(
                status__in=[Case.Status.RETURNED, Case.Status.AWAITING_MATERIALS]
            ).exists()
        )

    def _plan_day(self, day: datetime.date, *, arrivals: bool) -> None:
        self.log(f"{day:%Y-%m-%d}")
        self._schedule(self._at(day, datetime.time(8, 0)), self._day_open, day)
        if arrivals:
            booking = self._appointments_open(day)
            expected = self.daily_tickets * WEEKDAY_WEIGHTS[day.weekday()] / 1.02
            total = sum(HALF_HOUR_WEIGHTS.values())
            for (hour, minute), weight in HALF_HOUR_WEIGHTS.items():
                count = self._poisson(expected * weight / total)
                start = self._at(day, datetime.time(hour, minute))
                for _ in range(count):
                    moment = start + datetime.timedelta(seconds=self.rng.uniform(0, 1800))
                    site = self._site_choose()
                    # Bookings are the hall's (a station's few citizens just come).
                    booked = (
                        site == self.hall
                        and booking
                        and self.rng.random() < APPOINTMENT_SHARE
                        and self._book(moment)  # False: no slot then, or it is full
                    )
                    if not booked:
                        self._schedule(moment, self._arrival, None, site)
        for hour in range(8, 18):
            for minute in range(0, 60, 10):
                moment = self._at(day, datetime.time(hour, minute))
                if self._in_office(moment):
                    self._schedule(moment, self._beat_tick)
        self._schedule(self._at(day, datetime.time(11, 45)), self._stop_calling)
        self._schedule(self._at(day, datetime.time(14, 0)), self._resume_calling)
        self._schedule(self._at(day, datetime.time(17, 10)), self._stop_calling)
        self._schedule(self._at(day, datetime.time(16, 30)), self._audit_inspection)
        self._schedule(self._at(day, datetime.time(17, 40)), self._day_close)
        self._schedule(self._at(day, datetime.time(23, 30)), nightly_audit)
        self._schedule(
            self._at(day, datetime.time(23, 40)), appointment_services.appointment_no_shows_record
        )

    def _poisson(self, mean: float) -> int:
        # Knuth's method is fine for the small means of one half hour.
        limit, product, count = pow(2.718281828459045, -mean), self.rng.random(), 0
        while product > limit:
            count += 1
            product *= self.rng.random()
        return count

    @staticmethod
    def _in_office(moment: datetime.datetime) -> bool:
        local = timezone.localtime(moment).time()
        return datetime.time(8, 30) <= local < datetime.time(12, 0) or (
            datetime.time(14, 0) <= local < datetime.time(17, 30)
        )

    # --- the day's rhythm ----------------------------------------------------------------

    def _day_open(self, day: datetime.date) -> None:
        daily_seeds_rotate()
        case_services.cases_deferral_expire()
        self.clock.moment = self._at(day, datetime.time(8, 30))
        self.closing = False
        for site in self.sites:  # each site's clerks at its own windows
            roster = list(self.clerks_at[site.pk])
            self.rng.shuffle(roster)
            windows = [window for window in self.windows if window.site_id == site.pk]
            for window, clerk in zip(windows, roster, strict=False):
                counter_services.window_sign_on(clerk=clerk, window_id=window.pk)
                counter_services.window_declare_ready(clerk=clerk)
        self._watch_windows()

    def _stop_calling(self) -> None:
        self.closing = True
        for window in Window.objects.filter(site__in=self.sites, state=Window.State.READY):
            counter_services.window_pause(clerk=window.clerk, reason="午休/下班")

    def _resume_calling(self) -> None:
        self.closing = False
        for window in Window.objects.filter(
            site__in=self.sites, state=Window.State.PAUSED, clerk__isnull=False
        ):
            counter_services.window_declare_ready(clerk=window.clerk)
        self._watch_windows()

    def _day_close(self) -> None:
        waiting = Ticket.objects.filter(
            service_date=timezone.localdate(), status=Ticket.Status.WAITING
        ).exists()
        if waiting:
            # Nobody leaves while citizens still hold tickets: serve them, then close.
            self._resume_calling()
            self.closing = True
            self._schedule(self.clock.moment + datetime.timedelta(minutes=10), self._day_close)
            return
        signed_on = Window.objects.filter(site__in=self.sites, clerk__isnull=False)
        for window in signed_on.select_related("clerk"):
            if window.state == Window.State.SERVING:
                self._schedule(self.clock.moment + datetime.timedelta(minutes=5), self._day_close)
                return
        for window in signed_on.select_related("clerk"):
            counter_services.window_sign_off(clerk=window.clerk)

    def _beat_tick(self) -> None:
        self.summary.counts["redrawn"] += review_tasks_redraw_overdue()
        self._lead_fills_empty_pools()
        self._watch_tasks()

    def _lead_fills_empty_pools(self) -> None:
        """The team lead's answer to "awaiting a qualified person" (notified by the draw):
        after an office hour, a one-day qualification for someone in the role who is
        free of the case. A resubmitted level-3 case needs up to six distinct people."""
        if self.lead is None:
            return
        stale = self.clock.moment - datetime.timedelta(hours=1)
        for task in ReviewTask.objects.filter(
            status=ReviewTask.Status.AWAITING_DRAW, created_at__lt=stale
        ).select_related("case"):
            if task.pk in self.pools_filled:
                continue
            _pool, excluded = review_pool(task=task)
            unqualified = [row["user"] for row in excluded if row["reason"] == "not_qualified"]
            if not unqualified:
                continue
            self.pools_filled.add(task.pk)
            today = timezone.localdate()
            qualification_grant(
                user=get_user_model().objects.get(pk=unqualified[0]),
                kind=Qualification.Kind.REVIEW
                if task.role == "review"
                else Qualification.Kind.APPROVAL,
                level=task.case.risk_level,
                reason="顶岗：本件无其他合格人员可抽取",
                granted_by=self.lead,
                valid_from=today,
                valid_to=today,
            )
            self.summary.counts["stand_in_grants"] += 1

    # --- citizens and clerks ------------------------------------------------------------

    def _citizen(self) -> Citizen:
        elderly = self.rng.random() < 0.03
        birth = datetime.date(
            self.rng.randint(1935, 1947) if elderly else self.rng.randint(1955, 2000),
            self.rng.randint(1, 12),
            self.rng.randint(1, 28),
        )
        first17 = f"{LANGZHONG_REGION}{birth:%Y%m%d}{self.rng.randint(1, 999):03d}"
        name = self.rng.choice(SURNAMES) + "".join(
            self.rng.choice(GIVEN) for _ in range(self.rng.choice((1, 2)))
        )
        phone = f"13{self.rng.randint(0, 999999999):09d}" if self.rng.random() < 0.6 else ""
        return Citizen(name=name, id_number=first17 + id_number_check_char(first17), phone=phone)

    def _employer(self) -> Employer:
        """An employer of Langzhong: a credit code whose check character is right (GB
        32100: registered by industry and commerce, an enterprise, the county's region
        code, an organisation code) and a local name."""
        organisation = "".join(self.rng.choice(CREDIT_CODE_CHARS[:10]) for _ in range(8))
        first17 = f"91{LANGZHONG_REGION}{organisation}{self.rng.choice(CREDIT_CODE_CHARS)}"
        name = (
            "阆中市" + "".join(self.rng.sample(EMPLOYER_WORDS, 2)) + self.rng.choice(EMPLOYER_KINDS)
        )
        return Employer(credit_code=first17 + credit_code_check_char(first17), name=name)

    def _agent(self, *, for_employer: bool) -> Agent:
        person = self._citizen()
        relations, weights = zip(*AGENT_RELATIONS, strict=True)
        relation = (
            Case.AgentRelation.EMPLOYEE if for_employer else self.rng.choices(relations, weights)[0]
        )
        return Agent(name=person.name, id_number=person.id_number, relation=relation)

    def _site_choose(self) -> Site:
        """Where a citizen goes, by the sites' weights."""
        return self.rng.choices(self.sites, self.site_weights)[0]

    def _visit(self, site: Site | None = None) -> tuple[Citizen, ServiceItem | None, str]:
        """A new citizen's matter at `site` (by default one chosen by the sites' weights):
        who, which item (None: a consultation), and how their materials will stand at the
        counter."""
        site = site or self._site_choose()
        citizen = self._citizen()
        citizen.site_id = site.pk
        if self.rng.random() < 0.07:
            return citizen, None, "consult"
        weights = self.item_weights if site.kind == Site.Kind.HALL else self.station_item_weights
        item = self.rng.choices(self.items, weights)[0]
        if item.takes_employer and self.rng.random() < EMPLOYER_SHARE:
            citizen.employer = self._employer()
        if self.rng.random() < AGENT_SHARE:
            citizen.agent = self._agent(for_employer=citizen.employer is not None)
        return citizen, item, self._materials_plan(item)

    def _appointments_open(self, day: datetime.date) -> bool:
        """The team lead offers bookings for the day in both queues (None: no lead)."""
        if self.lead is None:
            return False
        for queue in Queue:
            appointment_services.slot_capacity_set(
                lead=self.lead, queue=queue, day=day, per_slot=APPOINTMENTS_PER_SLOT
            )
        return True

    def _book(self, moment: datetime.datetime) -> bool:
        """A citizen books the slot `moment` falls in and comes then (on time, a little
        early or late, or not at all); False when there is no such slot or it is full."""
        day = timezone.localtime(moment).date()
        slot, end = next(
            (
                (start, end)
                for start, end in appointment_services.day_slots(day)
                if start <= moment < end
            ),
            (None, None),
        )
        if slot is None:
            return False
        citizen, item, plan = self._visit(self.hall)  # bookings are the hall's
        citizen.phone = citizen.phone or f"13{self.rng.randint(0, 999999999):09d}"
        at_counter = item is None or item.at_counter
        try:
            appointment = appointment_services.appointment_book(
                queue=Queue.HALL if at_counter else Queue.BACK_OFFICE,
                slot_start=slot,
                id_number=citizen.id_number,
                phone=citizen.phone,
            )
        except ValidationError:
            return False
        self.summary.counts["appointments_booked"] += 1
        roll = self.rng.random()
        if roll < APPOINTMENT_NO_SHOW_SHARE:
            return True  # never comes: the nightly sweep records the no-show
        late_minutes = settings.APPOINTMENT_LATE_MINUTES
        if roll < APPOINTMENT_NO_SHOW_SHARE + APPOINTMENT_LATE_SHARE:
            minutes = self.rng.uniform(late_minutes + 1, late_minutes + 20)
        else:
            minutes = self.rng.uniform(-10, late_minutes - 1)
        arrival = slot + datetime.timedelta(minutes=minutes)
        if not self._in_office(arrival):  # nobody checks in before the hall opens or after
            arrival = slot if arrival < slot else end - datetime.timedelta(minutes=1)
        self._schedule(
            arrival,
            self._check_in,
            appointment.pk,
            (citizen, item, plan),
        )
        return True

    def _check_in(self, appointment_id: int, visit: tuple) -> None:
        """At the kiosk: most swipe the ID card, the others type the booking code."""
        citizen, _item, _plan = visit
        appointment = Appointment.objects.get(pk=appointment_id)
        by_card = self.rng.random() < 0.7
        try:
            appointment = appointment_services.appointment_check_in(
                code="" if by_card else appointment.code,
                id_number=citizen.id_number if by_card else "",
                kiosk=self.kiosks[self.hall.pk],
            )
        except StateConflict:
            self._arrival(None)  # holds a ticket already (rare): comes as a walk-in
            return
        self.tickets_planned[appointment.ticket_id] = visit
        self.summary.counts["tickets"] += 1
        self.summary.counts["appointment_tickets"] += 1
        self._watch_windows()

    def _arrival(self, visit: tuple | None, site: Site | None = None) -> None:
        """A citizen takes a ticket at their site's kiosk: `visit` is (citizen, item) for
        a return visit (to the same site); None, a new matter at `site` (by default one
        chosen by the sites' weights)."""
        if visit is None:
            citizen, item, plan = self._visit(site)
        else:
            citizen, item = visit
            plan = "complete"
            self.pending_work -= 1
        ticket = counter_services.ticket_issue(
            item=item,
            is_consultation=item is None,
            id_number=citizen.id_number if self.rng.random() < 0.5 else "",
            kiosk=self.kiosks[citizen.site_id],
        )
        self.tickets_planned[ticket.pk] = (citizen, item, plan)
        self.summary.counts["tickets"] += 1
        self._watch_windows()

    def _materials_plan(self, item: ServiceItem) -> str:
        required = self.materials[item.pk]
        roll = self.rng.random()
        if required and roll < 0.07:
            return "missing_key" if any(m.is_key for m in required) else "missing"
        if roll < 0.12 and any(not m.is_key for m in required):
            return "deferred"
        return "complete"

    def _watch_windows(self) -> None:
        for window in Window.objects.filter(state=Window.State.SERVING).select_related(
            "current_ticket__item"
        ):
            ticket = window.current_ticket
            if ticket.pk in self.scheduled_tickets:
                continue
            self.scheduled_tickets.add(ticket.pk)
            _citizen, item, plan = self.tickets_planned[ticket.pk]
            if plan == "consult":
                minutes = self.rng.lognormvariate(1.1, 0.4)
            elif not item.at_counter:
                minutes = self.rng.lognormvariate(2.3, 0.35)
            else:
                minutes = self.rng.lognormvariate(1.6 if item.risk_level == 0 else 2.2, 0.35)
            if self.rng.random() < 0.01:
                plan = "no_show"  # recorded once the no-show's minimum wait has passed
                minutes = max(2.0, settings.NO_SHOW_MIN_WAIT_SECONDS / 60 + 0.5)
            self._schedule(
                self.clock.moment + datetime.timedelta(minutes=minutes),
                self._service_end,
                window.clerk_id,
                ticket.pk,
                plan,
            )

    def _service_end(self, clerk_id: int, ticket_id: int, plan: str) -> None:
        clerk = self.users[clerk_id]
        citizen, item, _plan = self.tickets_planned.pop(ticket_id)
        # Finishing makes the window ready again (and may hand it the next ticket); at
        # lunch and in the evening the clerk finishes and pauses instead.
        pause = "午休/下班" if self.closing else ""
        if plan == "no_show":
            ticket = Ticket.objects.get(pk=ticket_id)
            for _call in range(counter_services.no_show_recalls_required(ticket)):
                counter_services.ticket_recall(clerk=clerk)
            counter_services.ticket_no_show(clerk=clerk, pause_reason=pause)
            self.summary.counts["no_shows"] += 1
        else:
            if item is not None:
                self._intake(clerk, citizen, item, plan)
            ticket = counter_services.ticket_finish(clerk=clerk, pause_reason=pause)
            self._rate(ticket)
        self._watch_windows()
        self._watch_tasks()

    def _intake(self, clerk, citizen: Citizen, item: ServiceItem, plan: str) -> None:
        required = self.materials[item.pk]
        received = {m.pk for m in item.materials.all()}
        defer = False
        if plan == "missing_key":
            received -= {self.rng.choice([m for m in required if m.is_key]).pk}
        elif plan == "missing":
            received -= {self.rng.choice(required).pk}
        elif plan == "deferred":
            received -= {self.rng.choice([m for m in required if not m.is_key]).pk}
            defer = True
        case = case_services.case_accept(
            clerk=clerk,
            item_id=item.pk,
            applicant_name=citizen.name,
            id_number=citizen.id_number,
            applicant_phone=citizen.phone,
            received_material_ids=received,
            defer_missing=defer,
            employer=citizen.employer,
            agent=citizen.agent,
            # A few agents forget the letter: a key material, so a one-time notice.
            authorisation_received=citizen.agent is not None and self.rng.random() < 0.95,
        )
        self.summary.counts[f"case_{case.status}"] += 1
        self.summary.counts[f"applicant_{case.applicant_kind}"] += 1
        self.summary.counts["agent_cases"] += citizen.agent is not None
        if case.status == Case.Status.NOTIFIED and self.rng.random() < 0.92:
            # Back with everything on the notice, one to five working days later.
            back = working_days_after(timezone.localdate(), self.rng.randint(1, 5))
            if back <= self.last:
                self.pending_work += 1
                moment = self._at(back, datetime.time(9, 0)) + datetime.timedelta(
                    minutes=self.rng.uniform(0, 420)
                )
                self._schedule(moment, self._arrival, (citizen, item))
        elif case.status == Case.Status.AWAITING_MATERIALS and self.rng.random() < 0.9:
            self.pending_work += 1
            self._schedule(
                self._office_after(self.rng.uniform(60, 1200)), self._materials_supplied, case.pk
            )

    def _materials_supplied(self, case_id: int) -> None:
        self.pending_work -= 1
        case = Case.objects.get(pk=case_id)
        if case.status != Case.Status.AWAITING_MATERIALS:
            return  # the promised date passed first: the case was ended
        missing = {row["material_id"] for row in case.checklist if not row["received"]}
        case_services.case_materials_supplied(
            clerk=self.users[case.handler_id], case_id=case_id, material_ids=missing
        )
        self._watch_tasks()

    def _rate(self, ticket: Ticket) -> None:
        if self.rng.random() > 0.93:
            return
        level = self.rng.choices([5, 4, 3, 2, 1], [86.0, 11.5, 2.2, 0.25, 0.05])[0]
        rating = rating_services.rating_submit(
            ticket_id=ticket.pk,
            level=level,
            reason=BAD_RATING_REASON if level in Rating.BAD_LEVELS else "",
            window=Window.objects.get(pk=ticket.window_id),
        )
        if level in Rating.BAD_LEVELS and self.lead is not None:
            follow_up = FollowUp.objects.get(rating=rating)
            self.pending_work += 1
            moment = self._office_after(self.rng.uniform(60, 420))
            self._schedule(moment, self._callback, follow_up.pk)

    def _callback(self, follow_up_id: int) -> None:
        rating_services.follow_up_record(
            follow_up_id=follow_up_id, lead=self.lead, callback_note="已电话回访，致歉并说明情况"
        )
        self._schedule(self._office_after(self.rng.uniform(120, 600)), self._reply, follow_up_id)

    def _reply(self, follow_up_id: int) -> None:
        self.pending_work -= 1
        rating_services.follow_up_record(
            follow_up_id=follow_up_id, lead=self.lead, reply="已书面答复：高峰时段增开窗口"
        )

    # --- reviewers, approvers and auditors ------------------------------------------------

    def _watch_tasks(self) -> None:
        for task_id, assignee_id in ReviewTask.objects.filter(
            status=ReviewTask.Status.OPEN
        ).values_list("pk", "assignee_id"):
            if task_id in self.scheduled_tasks:
                continue
            self.scheduled_tasks.add(task_id)
            minutes = self.rng.expovariate(1 / self.decision_minutes[assignee_id])
            self._schedule(self._office_after(minutes + 3), self._decide, task_id, assignee_id)
        for case_id, handler_id in Case.objects.filter(status=Case.Status.RETURNED).values_list(
            "pk", "handler_id"
        ):
            if case_id in self.scheduled_cases:
                continue
            self.scheduled_cases.add(case_id)
            self.pending_work += 1
            self._schedule(
                self._office_after(self.rng.uniform(30, 240)), self._resubmit, case_id, handler_id
            )

    def _decide(self, task_id: int, assignee_id: int) -> None:
        task = ReviewTask.objects.get(pk=task_id)
        if task.status != ReviewTask.Status.OPEN or task.assignee_id != assignee_id:
            return  # re-drawn away from this person in the meantime
        roll = self.rng.random()
        decision, comment = Decision.APPROVE, ""
        if roll < 0.03:
            decision, comment = Decision.RETURN, RETURN_COMMENT
        elif roll < 0.04:
            decision, comment = Decision.REJECT, REJECT_COMMENT
        review_task_decide(
            task_id=task_id, actor=self.users[assignee_id], decision=decision, comment=comment
        )
        self.summary.counts[f"decision_{decision}"] += 1
        self._watch_tasks()

    def _resubmit(self, case_id: int, handler_id: int) -> None:
        self.pending_work -= 1
        self.scheduled_cases.discard(case_id)
        case_services.case_resubmit(clerk=self.users[handler_id], case_id=case_id)
        self._watch_tasks()

    def _audit_inspection(self) -> None:
        if self.auditor is None:
            return
        # (A finding about the auditor is another auditor's: inspection.services.)
        open_findings = Finding.objects.filter(result=Finding.Result.OPEN).exclude(
            subject=self.auditor
        )
        for finding in open_findings.order_by("pk")[:80]:
            roll = self.rng.random()
            if finding.rule in ("outside_office_hours", "finished_late") or roll >= 0.05:
                result, kind = Finding.Result.NO_ISSUE, ""
            elif roll < 0.035:
                result, kind = Finding.Result.ERROR, "材料审核不严"
            else:
                result, kind = Finding.Result.IRREGULARITY, "告知不规范"
            finding_inspect(
                finding_id=finding.pk,
                auditor=self.auditor,
                result=result,
                error_kind=kind,
                comment="常态化稽核抽查",
            )
            self.summary.counts[f"finding_{result}"] += 1
