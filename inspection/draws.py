"""Verifying a closed day's draws (verify_draws): each recomputed from the revealed seed,
and each review task and called ticket held by the person its draw chose."""

import datetime
from dataclasses import dataclass
from pathlib import Path

from django.core.exceptions import ValidationError
from django.db.models import Q
from django.utils import timezone
from django.utils.translation import gettext as _

from audit.models import AuditEvent
from counters.models import Ticket
from draws.choice import (
    SCHEME_PSEUDONYMS,
    draw_choice_index,
    draw_message,
    draw_pool_canonical,
    seed_commitment,
)
from draws.models import DailySeed, Draw
from draws.services import draw_commitment_exported, draw_pseudonym_key, draws_in_series_order
from langzhong_si.identity import personal_data_decrypt
from risk.models import ReviewTask
from sites.defaults import home_agency_id


@dataclass(frozen=True)
class DrawMismatch:
    number: int
    reason: str


def draws_verify(
    *, day: datetime.date, commitment_dir: Path | None = None, agency_id: int | None = None
) -> list[DrawMismatch]:
    """Recompute every draw an agency (by default the home agency) made on a revealed
    day from its seed and recorded pool, and check that every review task and every
    called ticket of the agency is held by the person its draw chose.

    The seed must match its commitment, and the commitment the one exported to
    `commitment_dir` (if that file exists; verify_draws says when it does not).
    """
    agency_id = agency_id or home_agency_id()
    seed = DailySeed.objects.filter(agency_id=agency_id, day=day).first()
    if seed is None or seed.revealed_at is None:
        raise ValidationError(_("The seed of %(day)s has not been revealed.") % {"day": day})
    seed_hex = personal_data_decrypt(seed.seed)
    if seed_commitment(seed_hex) != seed.commitment:
        return [DrawMismatch(0, "seed does not match its published commitment")]
    mismatches = []
    exported = draw_commitment_exported(day=day, agency_id=agency_id, directory=commitment_dir)
    if exported is not None and exported != seed.commitment:
        mismatches.append(DrawMismatch(0, "commitment differs from the one exported"))
    if seed.committed_in_draw:
        mismatches.append(
            DrawMismatch(0, "commitment recorded with the day's first draw, not published before")
        )
    draws = draws_in_series_order(day=day, agency_id=agency_id)
    expected: dict[str, int] = {}  # series → its next number
    for draw in draws:
        number = expected.get(draw.series, 1)
        if draw.number != number:
            where = f" of {draw.series}" if draw.series else ""
            mismatches.append(DrawMismatch(number, f"missing draw number{where}"))
        expected[draw.series] = draw.number + 1
        reason = _draw_recompute(draw, seed_hex)
        if reason:
            mismatches.append(DrawMismatch(draw.number, reason))
    mismatches += _draws_against_audit_log(day=day, draws=draws, agency_id=agency_id)
    mismatches += _review_tasks_verify(day=day, draws=draws, agency_id=agency_id)
    mismatches += _tickets_verify(day=day, draws=draws, agency_id=agency_id)
    return mismatches


def _draw_recompute(draw: Draw, seed_hex: str) -> str:
    """Why the recorded choice is not the seed's, or "" when it is."""
    pool = list(draw.pool)
    if draw.scheme == SCHEME_PSEUDONYMS:
        canonical, members = draw_pool_canonical(key=draw_pseudonym_key(), day=draw.day, pool=pool)
    else:
        canonical, members = sorted(pool), sorted(pool)
    if pool != canonical:
        return "pool not in canonical order"
    message = draw_message(
        day=draw.day, number=draw.number, purpose=draw.purpose, subject=draw.subject, pool=members
    )
    index = draw_choice_index(seed_hex=seed_hex, message=message, pool_size=len(pool))
    if index != draw.chosen_index or pool[index] != draw.chosen_id:
        return "chosen person differs from the seed's"
    return ""


def _draws_against_audit_log(
    *, day: datetime.date, draws: list[Draw], agency_id: int
) -> list[DrawMismatch]:
    """Each draw was recorded in the audit chain when it was made, and each draw the
    chain recorded that day is still there: a series' last draw deleted leaves no gap
    in its numbers, but it leaves its event."""
    mismatches = []
    recorded = set(
        AuditEvent.objects.filter(
            event_type="draw.made", object_id__in=[str(draw.pk) for draw in draws]
        ).values_list("object_id", flat=True)
    )
    for draw in draws:
        if str(draw.pk) not in recorded:
            mismatches.append(DrawMismatch(draw.number, f"draw for {draw.subject} is not in "
                                                        "the audit log"))  # fmt: skip
    start = timezone.make_aware(datetime.datetime.combine(day, datetime.time.min))
    made_that_day = AuditEvent.objects.filter(
        event_type="draw.made",
        occurred_at__gte=start,
        # An event is written a moment after its draw: one that ends the day is the day's.
        occurred_at__lt=start + datetime.timedelta(days=1, minutes=1),
    ).exclude(object_id__in=recorded)
    # Events recorded before events carried an agency were all the home agency's.
    mine = Q(agency_id=agency_id)
    made_that_day = made_that_day.filter(
        mine | Q(agency_id__isnull=True) if agency_id == home_agency_id() else mine
    )
    events = list(made_that_day.values_list("object_id", "data"))
    present = {
        str(pk)
        for pk in Draw.objects.filter(
            pk__in=[int(key) for key, _ in events if key.isdigit()]
        ).values_list("pk", flat=True)
    }
    for key, data in events:
        if key not in present:
            mismatches.append(
                DrawMismatch(data.get("number", 0), f"draw for {data.get('subject')} recorded "
                                                    "in the audit log is missing")
            )  # fmt: skip
    return mismatches


def _review_tasks_verify(
    *, day: datetime.date, draws: list[Draw], agency_id: int
) -> list[DrawMismatch]:
    """Every task drawn that day is held by its draw's chosen person, and points at
    the draw made for it; no task assigned that day lacks a draw."""
    mismatches = []
    review_draws = {draw.pk: draw for draw in draws if draw.purpose != Draw.Purpose.TICKET_DISPATCH}
    subject_ids = [
        int(draw.subject.removeprefix("review-task:"))
        for draw in review_draws.values()
        if draw.subject.startswith("review-task:")
    ]
    tasks = ReviewTask.objects.filter(
        Q(draw__in=list(review_draws))
        | Q(pk__in=subject_ids)
        | Q(
            draw__isnull=True,
            assignee__isnull=False,
            assigned_at__date=day,
            case__agency_id=agency_id,
        )
    )
    pointed = set()
    for task in tasks.select_related("draw", "case").order_by("pk"):
        draw = task.draw
        if draw is None:
            if task.assignee_id is not None:
                mismatches.append(
                    DrawMismatch(0, f"review task {task.pk} (case {task.case.number}) "
                                    "has an assignee but no draw")
                )  # fmt: skip
            continue
        if draw.day == day:
            pointed.add(draw.pk)
        if draw.subject != f"review-task:{task.pk}":
            mismatches.append(
                DrawMismatch(draw.number, f"review task {task.pk} (case {task.case.number}) "
                                          f"points at the draw made for {draw.subject}")
            )  # fmt: skip
        elif task.assignee_id != draw.chosen_id:
            mismatches.append(
                DrawMismatch(draw.number, f"review task {task.pk} (case {task.case.number}) "
                                          f"is held by user {task.assignee_id}, "
                                          f"not the drawn user {draw.chosen_id}")
            )  # fmt: skip
    for draw in review_draws.values():
        if draw.pk not in pointed:
            mismatches.append(
                DrawMismatch(draw.number, f"{draw.subject} no longer points at its draw")
            )
    return mismatches


def _tickets_verify(*, day: datetime.date, draws: list[Draw], agency_id: int) -> list[DrawMismatch]:
    """Every ticket called that day is served by the clerk its latest dispatch draw
    chose (a re-queued ticket is drawn again; its last draw counts)."""
    latest: dict[str, Draw] = {}
    for draw in draws:
        if draw.purpose == Draw.Purpose.TICKET_DISPATCH:
            latest[draw.subject] = draw  # `draws` in series order: the last one wins
    mismatches = []
    called = Ticket.objects.filter(
        service_date=day, agency_id=agency_id, clerk__isnull=False
    ).order_by("pk")
    for ticket_id, number, clerk_id in called.values_list("pk", "sequence", "clerk_id"):
        draw = latest.get(f"ticket:{ticket_id}")
        if draw is None:
            mismatches.append(DrawMismatch(0, f"ticket {ticket_id} has a clerk but no draw"))
        elif draw.chosen_id != clerk_id:
            mismatches.append(
                DrawMismatch(draw.number, f"ticket {ticket_id} (#{number}) is served by user "
                                          f"{clerk_id}, not the drawn clerk {draw.chosen_id}")
            )  # fmt: skip
    return mismatches
