"""The daily seeds (committed, exported, revealed) and the one draw function behind all
three randoms, with the auditor's bundle of a revealed day's draws."""

import datetime
import json
import logging
import secrets
from datetime import timedelta
from functools import partial
from pathlib import Path

from django.conf import settings
from django.core.exceptions import PermissionDenied, ValidationError
from django.db import DEFAULT_DB_ALIAS, IntegrityError, connection, connections, models, transaction
from django.db.models import Exists, OuterRef
from django.utils import timezone
from django.utils.translation import gettext as _

from audit.chain import audit_chain_all
from audit.models import AuditEvent
from audit.services import audit_event_record
from draws.choice import (
    SCHEME_PSEUDONYMS,
    draw_choice_index,
    draw_member_pseudonym,
    draw_message,
    draw_pool_canonical,
    seed_commitment,
)
from draws.models import DailySeed, Draw
from draws.selectors import daily_seed_hex
from langzhong_si.batch import audit_batch_add
from langzhong_si.identity import personal_data_decrypt, personal_data_encrypt
from langzhong_si.prepared import prepared_execute
from langzhong_si.saves import record_new
from sites.defaults import home_agency_id
from sites.models import Agency, Site
from staff.roles import Role
from staff.scope import scope_of
from staff.selectors import user_has_role

logger = logging.getLogger(__name__)


class EmptyPoolError(Exception):
    """Nobody is eligible: the caller waits rather than fall back to anyone else."""


def _daily_seed_create(*, day: datetime.date, agency_id: int, in_draw: bool = False) -> DailySeed:
    """Create one agency's secret seed of one day and log its commitment (idempotent);
    the commitment file is written once the transaction commits."""
    existing = DailySeed.objects.filter(agency_id=agency_id, day=day).first()
    if existing:
        return existing
    seed_hex = secrets.token_hex(32)
    try:
        with transaction.atomic():
            seed = DailySeed.objects.create(
                agency_id=agency_id,
                day=day,
                seed=personal_data_encrypt(seed_hex),
                commitment=seed_commitment(seed_hex),
                committed_at=timezone.now(),
                committed_in_draw=in_draw,
            )
            audit_event_record(
                event_type="seed.committed",
                obj=seed,
                data={"day": day, "commitment": seed.commitment, "in_draw": in_draw},
            )
    except IntegrityError:
        # Another process committed the same day's seed first; theirs stands.
        return DailySeed.objects.get(agency_id=agency_id, day=day)
    transaction.on_commit(partial(draw_commitment_export, day=day, agency_id=agency_id))
    return seed


def daily_seed_commit(*, day: datetime.date, agency_id: int | None = None) -> DailySeed:
    """Commit one agency's (by default the home agency's) seed of `day` and of the next
    day (idempotent): whoever commits a day also commits the next, so a day's first draw
    finds its commitment already published even when beat was down."""
    agency_id = agency_id or home_agency_id()
    seed = _daily_seed_create(day=day, agency_id=agency_id)
    _daily_seed_create(day=day + timedelta(days=1), agency_id=agency_id)
    return seed


def _agencies_without_seeds(today: datetime.date) -> list[int]:
    """The active agencies missing today's or tomorrow's seed, in one query (a database
    with no agency yet: the home agency, which home_agency_id makes)."""
    seed = DailySeed.objects.filter(agency_id=OuterRef("pk"))
    agencies = list(
        Agency.objects.filter(active=True)
        .annotate(
            has_today=Exists(seed.filter(day=today)),
            has_tomorrow=Exists(seed.filter(day=today + timedelta(days=1))),
        )
        .values_list("pk", "has_today", "has_tomorrow")
    )
    if not agencies:
        return [home_agency_id()]
    return [pk for pk, has_today, has_tomorrow in agencies if not (has_today and has_tomorrow)]


def _active_agencies() -> list[int]:
    return list(Agency.objects.filter(active=True).values_list("pk", flat=True)) or [
        home_agency_id()
    ]


# The day this process last saw today's and tomorrow's seeds committed. A committed seed
# is never removed, so once seen the check is not repeated until the day changes.
_seeds_seen_for: datetime.date | None = None


def daily_seeds_ensure() -> None:
    """Commit every active agency's seeds of today and tomorrow, in a transaction of
    their own, before any work that may draw (run by the middleware on every unsafe
    request and before every Celery task). Inside a transaction it does nothing: the
    draw's own fallback then applies (see draw_record). Once a process has seen them
    all, it asks the database again only the next day (an agency added during the day
    has its seeds committed by its first draw, flagged for verify_draws)."""
    global _seeds_seen_for
    if transaction.get_connection().in_atomic_block:
        return
    today = timezone.localdate()
    if _seeds_seen_for == today:
        return
    missing = _agencies_without_seeds(today)
    if missing:
        with transaction.atomic(durable=True):
            for agency_id in missing:
                daily_seed_commit(day=today, agency_id=agency_id)
    _seeds_seen_for = today


def draw_commitment_path(
    *, day: datetime.date, agency_id: int | None = None, directory: Path | None = None
) -> Path:
    """Where an agency's commitment of `day` is exported: the home agency's files where
    they always were (`<day>.json`), any other agency's in a folder of its code."""
    folder = Path(directory or settings.DRAW_COMMITMENT_DIR)
    if agency_id is None or agency_id == home_agency_id():
        return folder / f"{day.isoformat()}.json"
    code = Agency.objects.values_list("code", flat=True).get(pk=agency_id)
    return folder / code / f"{day.isoformat()}.json"


def draw_commitment_export(
    *, day: datetime.date, agency_id: int | None = None, directory: Path | None = None
) -> Path | None:
    """Write an agency's commitment of a day to a file of its own, off the database
    (like the audit heads). A file once written is never overwritten: a database
    rewritten later is caught by verify_draws comparing the two."""
    agency_id = agency_id or home_agency_id()
    seed = DailySeed.objects.filter(agency_id=agency_id, day=day).first()
    if seed is None:
        return None
    path = draw_commitment_path(day=day, agency_id=agency_id, directory=directory)
    audit_chain_all()  # the commitment's event is chained before its position is exported
    event = (
        AuditEvent.objects.filter(event_type="seed.committed", object_id=str(seed.pk))
        .values("position", "hash")
        .first()
    )
    record = {
        "day": day.isoformat(),
        "agency": seed.agency_id,
        "commitment": seed.commitment,
        "committed_at": seed.committed_at.isoformat() if seed.committed_at else None,
        "audit_position": event["position"] if event else None,
        "audit_hash": event["hash"] if event else None,
        "exported_at": timezone.now().isoformat(),
    }
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
        with path.open("x", encoding="utf-8") as file:
            json.dump(record, file, indent=2)
    except FileExistsError:
        exported = draw_commitment_exported(day=day, agency_id=agency_id, directory=directory)
        if exported != seed.commitment:
            logger.error("the exported commitment of %s differs from the database's", path)
    except OSError as error:
        # The commitment stands in the hash chain; `export_draw_commitments` retries.
        logger.error("could not export the commitment of %s: %s", path, error)
        return None
    return path


def draw_commitment_exported(
    *, day: datetime.date, agency_id: int | None = None, directory: Path | None = None
) -> str | None:
    """The commitment exported for an agency's `day`, or None when no file was written."""
    path = draw_commitment_path(day=day, agency_id=agency_id, directory=directory)
    try:
        return json.loads(path.read_text(encoding="utf-8")).get("commitment")
    except (OSError, ValueError):
        return None


def daily_seed_reveal(*, day: datetime.date, agency_id: int | None = None) -> DailySeed | None:
    """Publish an agency's (by default the home agency's) seed of a closed day so its
    draws can be recomputed (idempotent)."""
    with transaction.atomic():
        seed = (
            DailySeed.objects.select_for_update()
            .filter(agency_id=agency_id or home_agency_id(), day=day, revealed_at=None)
            .first()
        )
        if seed is None:
            return None
        if day >= timezone.localdate():
            raise ValidationError(_("A day's seed is revealed only after the day closes."))
        seed.revealed_at = timezone.now()
        seed.save(update_fields=["revealed_at"])
        audit_event_record(
            event_type="seed.revealed",
            obj=seed,
            data={"day": day, "seed": personal_data_decrypt(seed.seed)},
        )
    return seed


def daily_seeds_rotate() -> None:
    """For every active agency: commit today's and tomorrow's seeds in advance (writing
    any commitment file an earlier export missed). Reveal every closed day's seed."""
    today = timezone.localdate()
    for agency_id in _active_agencies():
        daily_seed_commit(day=today, agency_id=agency_id)
        for day in (today, today + timedelta(days=1)):
            if draw_commitment_exported(day=day, agency_id=agency_id) is None:
                transaction.on_commit(partial(draw_commitment_export, day=day, agency_id=agency_id))
    closed = DailySeed.objects.filter(day__lt=today, revealed_at=None)
    for agency_id, day in closed.values_list("agency_id", "day"):
        daily_seed_reveal(day=day, agency_id=agency_id)


def draw_pseudonym_key() -> bytes:
    return settings.PERSONAL_DATA_HASH_KEY.encode()


def _pool_agency(pool: list[int]) -> int:
    """The agency of a pool's people (a pool never spans two agencies: the selectors that
    build pools take them from one agency's sites); the home agency for people of no site."""
    return (
        Site.objects.filter(staff_profiles__user_id=pool[0])
        .values_list("agency_id", flat=True)
        .first()
    ) or home_agency_id()


def _draw_number_take(
    *, day: datetime.date, subject: str, agency: int, new_subject_of: tuple[str, str] | None = None
) -> tuple[int, str, bool, int, int | None, int | None] | None:
    """The subject's next draw number of the day, the agency's (encrypted) seed of the
    day, whether its next day's seed is committed, the agency, and on PostgreSQL the
    draw's key taken from its table's sequence (None elsewhere): one read, no lock.
    None when the agency has no seed that day. `new_subject_of` (PostgreSQL, a table
    and its key's column): the subject is a record of it not written yet, its key taken
    here from the column's sequence (returned last, else None): a key never drawn for,
    numbered 1."""
    seeds, draws = DailySeed._meta.db_table, Draw._meta.db_table
    db = connections[DEFAULT_DB_ALIAS]  # once: the proxy `connection` looks it up at each use
    # The key up front lets the draw's row be written with the transaction's audit
    # events (langzhong_si.batch), one statement fewer per draw; nextval locks nothing.
    key = (
        f"nextval(pg_get_serial_sequence('{draws}', 'id'))" if db.vendor == "postgresql" else "NULL"
    )
    if new_subject_of is None:
        # The numbering in the text: the index on a subject's numbers is partial
        # (numbering = 2), and a prepared statement's generic plan cannot use it for
        # a parameter.
        name, subject_key, subject_params = "draws_number_take", "NULL", [subject]
        last = (
            f"(SELECT d.number FROM {draws} d WHERE d.day = s.day "  # noqa: S608 - the models' own tables
            f"AND d.numbering = {int(Draw.Numbering.SUBJECT)} AND d.subject = %s "
            "ORDER BY d.number DESC LIMIT 1)"
        )
    else:
        new_subject_of, key_column = new_subject_of
        name, last, subject_params = f"draws_number_take_new_{new_subject_of}", "NULL", []
        subject_key = f"nextval(pg_get_serial_sequence('{new_subject_of}', '{key_column}'))"
    # Written as SQL: the ORM's version cost more to compile than to run, three times a case.
    with db.cursor() as cursor:
        prepared_execute(
            db,
            cursor,
            name,
            f"SELECT {last}, s.seed, "  # noqa: S608 - the models' own tables
            f"EXISTS (SELECT 1 FROM {seeds} n WHERE n.agency_id = s.agency_id AND n.day = %s), "
            f"s.agency_id, {key}, {subject_key} FROM {seeds} s "
            "WHERE s.day = %s AND s.agency_id = %s ORDER BY s.id LIMIT 1",
            [
                *subject_params,
                db.ops.adapt_datefield_value(day + timedelta(days=1)),
                db.ops.adapt_datefield_value(day),
                agency,
            ],
        )
        row = cursor.fetchone()
    if row is None:
        return None
    last, seed_stored, next_committed, agency_id, draw_key, subject_key = row
    return (last or 0) + 1, seed_stored, next_committed, agency_id, draw_key, subject_key


def draw_subject_keys_taken() -> bool:
    """Whether a draw can take its new subject's key with its number (draw_record's
    `subject_record`): on PostgreSQL, whose tables' keys come from sequences."""
    return connection.vendor == "postgresql"


def draw_record(
    *,
    purpose: str,
    subject: str,
    pool: list[int],
    excluded: list[dict],
    agency_id: int | None = None,
    scope: str = "",
    subject_record: models.Model | None = None,
) -> Draw:
    """Choose one person from `pool` by the agency's seed of the day and record the draw.

    The agency is `agency_id` (a review draw names its case's), else the pool's people's
    (a ticket's clerks): each agency draws with its own seed. `scope` records where the
    pool came from (risk.models.DrawScope).
    Numbers count per subject (a ticket, a review task): its first draw of the day is
    1, a later one (a re-queued ticket, a task drawn again) 2, 3 …, and verify_draws
    checks each subject's series has no gap ("missing draw number"). The caller holds
    the subject's row lock (a ticket or task taken FOR UPDATE), so the next number is
    one plain read: no counter row is shared, and concurrent draws for different
    subjects never wait for one another (the day's one counter, held by every draw
    until its commit, was the hall's serial point). A draw rolled back gives its
    number back: the subject's next draw takes the same number, and with the same pool
    chooses the same person, so drawing again until someone else comes out is no use.
    The unique constraint refuses a second draw with the same number.
    The day's seed is normally committed already, in an earlier transaction (by the
    previous day's commit, beat, or daily_seeds_ensure before the request or task);
    only a draw run outside both (a shell or command on a day nothing else ran)
    commits it here, flagged `committed_in_draw` and reported by verify_draws.
    `subject_record`: the record drawn for, named in `subject` as "{key}". One not
    written yet (no key; only where draw_subject_keys_taken()) takes its key with the
    draw's number, in the same statement (also `draw.subject_key`), for the caller to
    write it after the draw: its first draw, so number 1, its key never drawn for.
    """
    table = None
    if subject_record is not None and subject_record.pk is not None:
        subject = subject.format(key=subject_record.pk)
    elif subject_record is not None:
        if not draw_subject_keys_taken():
            raise ValueError("a draw takes its subject's key only on PostgreSQL")
        table = (subject_record._meta.db_table, subject_record._meta.pk.column)
    if not pool:
        raise EmptyPoolError(subject.format(key="?") if table else subject)
    day = timezone.localdate()
    if agency_id is None:
        agency_id = _pool_agency(pool)
    taken = _draw_number_take(day=day, subject=subject, agency=agency_id, new_subject_of=table)
    if taken is None:
        _daily_seed_create(day=day, agency_id=agency_id, in_draw=True)
        taken = _draw_number_take(day=day, subject=subject, agency=agency_id, new_subject_of=table)
    number, seed_stored, next_committed, agency_id, draw_key, subject_key = taken
    if table is not None:
        if subject_key is None:
            raise ValueError(f"{table[0]} has no sequence for its key")
        subject_record.pk = subject_key
        subject = subject.format(key=subject_key)
    if not next_committed:
        # A draw commits tomorrow's seed, should beat be down all day.
        _daily_seed_create(day=day + timedelta(days=1), agency_id=agency_id)
    pool, members = draw_pool_canonical(key=draw_pseudonym_key(), day=day, pool=pool)
    message = draw_message(day=day, number=number, purpose=purpose, subject=subject, pool=members)
    index = draw_choice_index(
        seed_hex=daily_seed_hex(seed_stored), message=message, pool_size=len(pool)
    )
    draw = record_new(
        Draw,
        pk=draw_key,
        agency_id=agency_id,
        day=day,
        number=number,
        numbering=Draw.Numbering.SUBJECT,
        scheme=SCHEME_PSEUDONYMS,
        purpose=purpose,
        subject=subject,
        scope=scope,
        pool=pool,
        excluded=excluded,
        chosen_id=pool[index],
        chosen_index=index,
        drawn_at=timezone.now(),
    )
    # Its key taken already, the row is written with the transaction's audit events
    # (any statement that reads the draws first writes it: langzhong_si.batch); else now.
    if draw_key is None or not audit_batch_add(draw):
        draw.save(force_insert=True)
    audit_event_record(
        event_type="draw.made",
        obj=draw,
        data={
            "purpose": purpose,
            "subject": subject,
            "number": number,
            "scope": scope,
            "pool": pool,
            "excluded": excluded,
            "chosen": draw.chosen_id,
        },
    )
    draw.subject_key = subject_key
    return draw


# --- A revealed day's draws for the auditor ------------------------------------------


def draws_in_series_order(*, day: datetime.date, agency_id: int | None = None) -> list[Draw]:
    """An agency's (by default every agency's) draws of a day series by series (the
    day's one series first, then each subject's), each in number order: within a
    subject, the last is the latest."""
    draws = Draw.objects.filter(day=day)
    if agency_id is not None:
        draws = draws.filter(agency_id=agency_id)
    return sorted(draws, key=lambda draw: (draw.series, draw.number))


BUNDLE_FORMAT = "langzhong-draws-bundle/1"


def draws_agency_of(actor) -> int:
    """The agency whose draws an auditor sees: their own (an auditor works in one)."""
    agency_ids = scope_of(actor).agency_ids
    if len(agency_ids) != 1:
        raise PermissionDenied(_("Only an auditor of one agency downloads its draws."))
    return next(iter(agency_ids))


def draws_bundle(*, day: datetime.date, actor) -> dict:
    """A revealed day's draws of the auditor's agency, to recompute outside the system
    (scripts/verify_draws_bundle.py, README): the agency's seed, its commitment and
    every draw it made, people as pseudonyms of that day only. The download is an
    audit event."""
    if not user_has_role(actor, Role.AUDITOR):
        raise PermissionDenied(_("Only an auditor downloads a day's draws."))
    agency_id = draws_agency_of(actor)
    seed = DailySeed.objects.filter(agency_id=agency_id, day=day).first()
    if seed is None or seed.revealed_at is None:
        raise ValidationError(
            _("The seed of %(day)s has not been revealed.") % {"day": day}, code="not_revealed"
        )
    key = draw_pseudonym_key()

    def member(draw: Draw, user_id: int) -> str | int:
        if draw.scheme == SCHEME_PSEUDONYMS:
            return draw_member_pseudonym(key=key, day=day, user_id=user_id)
        return user_id  # scheme 1 (older draws): the message binds the user ids

    draws = [
        {
            "number": draw.number,
            # The series the number counts in: the subject, or "" for the whole day.
            "series": draw.series,
            "scheme": draw.scheme,
            "purpose": draw.purpose,
            "subject": draw.subject,
            "pool": [member(draw, user_id) for user_id in draw.pool],
            "chosen_index": draw.chosen_index,
            "chosen": member(draw, draw.chosen_id),
            "excluded": [
                {"member": member(draw, row["user"]), "reason": row["reason"]}
                for row in draw.excluded
            ],
            "drawn_at": draw.drawn_at.isoformat(),
        }
        for draw in draws_in_series_order(day=day, agency_id=agency_id)
    ]
    with transaction.atomic(durable=True):
        audit_event_record(
            event_type="draws.bundle_downloaded",
            actor=actor,
            obj=seed,
            data={"day": day, "draws": len(draws)},
        )
    return {
        "format": BUNDLE_FORMAT,
        "day": day.isoformat(),
        "agency": Agency.objects.values_list("code", flat=True).get(pk=agency_id),
        "seed": personal_data_decrypt(seed.seed),
        "commitment": seed.commitment,
        "committed_at": seed.committed_at.isoformat() if seed.committed_at else None,
        "committed_in_draw": seed.committed_in_draw,
        "revealed_at": seed.revealed_at.isoformat(),
        "draws": draws,
    }
