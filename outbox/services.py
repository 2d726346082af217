import logging
import time
from datetime import timedelta

from celery import current_app as app  # the project's app (langzhong_si.celery), by reference
from django.conf import settings
from django.db import connection, transaction
from django.db.models import F, Q
from django.utils import timezone

from langzhong_si.batch import audit_batch_add
from langzhong_si.prepared import prepared_execute
from langzhong_si.saves import record_new
from outbox.models import OutboxMessage

logger = logging.getLogger(__name__)

# The outbox's two statements on every message, prepared per session on PostgreSQL
# (langzhong_si.prepared): Django's update path cost several times the statement.
_ENQUEUE_SQL = (
    f"INSERT INTO {OutboxMessage._meta.db_table} (task_name, kwargs, dedupe_key, created_at, "  # noqa: S608 - the model's own table
    "send_attempts, last_error) VALUES (%s, %s, %s, %s, 0, '') "
    "ON CONFLICT (dedupe_key) DO NOTHING RETURNING id"
)
_DONE_SQL = (
    f"UPDATE {OutboxMessage._meta.db_table} SET done_at = %s "  # noqa: S608 - the model's own table
    "WHERE id = %s AND done_at IS NULL"
)

# The keyword argument the relay adds to a message's task: the task passes it on to
# outbox_message_done, in the transaction of its effect.
OUTBOX_MESSAGE_KWARG = "outbox_message_id"


def outbox_enqueue(
    *, task_name: str, kwargs: dict, dedupe_key: str, drain: str | None = None
) -> int | None:
    """Record work to run after the caller's transaction commits; returns the new
    message's id, or None when the same work (its dedupe key) was recorded already, or
    when the message waits for the transaction's batched writes (below).

    Must be called inside that transaction: if it rolls back, the message is gone and
    nothing is sent. One statement (INSERT … ON CONFLICT DO NOTHING, prepared per session
    on PostgreSQL), no savepoint.
    The task is called with `outbox_message_id` besides `kwargs`, and must mark the
    message done (outbox_message_done), or the sweep sends it again.

    `drain`: the name of a task that does the messages of `task_name` many at a time
    (outbox_messages_claim, in one transaction). The commit then nudges that task
    (outbox_drain_nudge) instead of sending this message's own; beat runs it too. The
    sweep still sends a message the drain left undone past OUTBOX_REDELIVER_SECONDS to
    `task_name` on its own, so a drain that stopped delays the work and loses none.
    Such a message, recorded inside `audit_writes_batched` (langzhong_si.batch), is
    written with the block's batch, before the transaction can commit; its id is then not
    read back (None), which a drained message's caller never needs.
    """
    if drain is not None and audit_batch_add(
        record_new(OutboxMessage, task_name=task_name, kwargs=kwargs, dedupe_key=dedupe_key),
        once=True,
    ):
        # Written with the transaction's batched writes (ON CONFLICT DO NOTHING, as
        # here), one statement fewer; whether it was new is not read back, and the
        # drain is nudged either way (it finds nothing more to do when it was not).
        transaction.on_commit(lambda: outbox_drain_nudge(drain))
        return None
    with connection.cursor() as cursor:
        prepared_execute(
            connection, cursor, "outbox_enqueue", _ENQUEUE_SQL,
            [
                task_name,
                OutboxMessage._meta.get_field("kwargs").get_db_prep_save(kwargs, connection),
                dedupe_key,
                connection.ops.adapt_datetimefield_value(timezone.now()),
            ],
        )  # fmt: skip
        row = cursor.fetchone()
    if row is None:
        return None
    message_id = row[0]
    if drain is not None:
        transaction.on_commit(lambda: outbox_drain_nudge(drain))
    else:
        transaction.on_commit(
            lambda: outbox_message_relay(message_id=message_id, task_name=task_name, kwargs=kwargs)
        )
    return message_id


# How long a drain nudged by a commit waits before it runs, so that the commits of that
# moment are done together: a process sends at most one nudge per task in this time, to
# run at its end, after every commit that it stood for.
DRAIN_NUDGE_SECONDS = 0.5
_last_drain_nudge: dict[str, float] = {}


def outbox_drain_nudge(drain: str) -> None:
    """Run the drain task `drain` soon (after a commit that enqueued its messages): sent
    with a countdown of DRAIN_NUDGE_SECONDS, unless this process sent one within the last
    DRAIN_NUDGE_SECONDS (that one runs after this commit); inline when tasks are eager
    (tests and one-process set-ups). Failing is harmless: beat runs the drain, and the
    sweep sends what is left."""
    if app.conf.task_always_eager:
        app.tasks[drain].apply(throw=True)
        return
    now = time.monotonic()
    if now - _last_drain_nudge.get(drain, float("-inf")) < DRAIN_NUDGE_SECONDS:
        return
    _last_drain_nudge[drain] = now
    try:
        app.send_task(drain, countdown=DRAIN_NUDGE_SECONDS)
    except Exception as error:  # noqa: BLE001 - the commit is done; beat runs the drain
        logger.warning("outbox drain nudge of %s failed: %s", drain, error)


def outbox_messages_claim(*, task_name: str, limit: int) -> list[tuple[int, dict]]:
    """The oldest `limit` messages of `task_name` not done, still tried and not failed
    in a drain (outbox_messages_failed), as (id, kwargs), locked for the caller's
    transaction; messages another transaction holds (another drain, a task of one
    message) are skipped, not waited for. The caller marks those it did done
    (outbox_messages_done) in the same transaction."""
    return list(
        outbox_pending()
        .filter(task_name=task_name, last_error="")
        .order_by("created_at", "pk")
        .select_for_update(skip_locked=True)
        .values_list("pk", "kwargs")[:limit]
    )


def outbox_messages_failed(*, message_ids: list[int], error: str) -> None:
    """Messages a drain could not do: counted and their error kept, so that drains leave
    them (one bad case does not hold back every later drain) and the sweep sends them
    to their own task after OUTBOX_REDELIVER_SECONDS (its send clears the error)."""
    if message_ids:
        OutboxMessage.objects.filter(pk__in=message_ids, done_at__isnull=True).update(
            send_attempts=F("send_attempts") + 1, last_error=error[:500]
        )


def outbox_messages_done(*, message_ids: list[int]) -> int:
    """Mark the claimed messages whose work the caller's transaction did done: one UPDATE."""
    if not message_ids:
        return 0
    return OutboxMessage.objects.filter(pk__in=message_ids, done_at__isnull=True).update(
        done_at=timezone.now()
    )


def outbox_message_done(*, message_id: int | None) -> bool:
    """Mark the message whose task is running done; one UPDATE, to be called inside the
    transaction of the task's effect, so the mark and the effect commit (or roll back,
    and the task is retried or sent again) together. Also when a repeated task finds its
    effect there already. None (the task was not started by the outbox) does nothing.

    False when the message was done already: another run of the task committed its
    effect (a second run waits here, on the message's row, until the first commits)."""
    if message_id is None:
        return True
    with connection.cursor() as cursor:
        prepared_execute(
            connection, cursor, "outbox_message_done", _DONE_SQL,
            [connection.ops.adapt_datetimefield_value(timezone.now()), message_id],
        )  # fmt: skip
        return cursor.rowcount > 0


def outbox_message_relay(
    *, message_id: int, task_name: str | None = None, kwargs: dict | None = None
) -> bool:
    """Hand one message to the broker right after its commit; False if the broker
    refused. Nothing is written when it takes it (the task marks the message done), so
    the relay after commit costs no statement; a refusal is counted on the message."""
    if task_name is None:
        row = (
            OutboxMessage.objects.filter(pk=message_id, done_at__isnull=True)
            .values_list("task_name", "kwargs")
            .first()
        )
        if row is None:
            return True
        task_name, kwargs = row
    return _message_send(message_id=message_id, task_name=task_name, kwargs=kwargs)


def _message_send(*, message_id: int, task_name: str, kwargs: dict) -> bool:
    """Hand one message to the broker (or run it inline when tasks are eager); a refusal
    (or an inline task's error, which is raised again) is counted on the message."""
    kwargs = {**kwargs, OUTBOX_MESSAGE_KWARG: message_id}
    try:
        if app.conf.task_always_eager:
            # Tests and one-process set-ups run the task inline; its errors must surface.
            app.tasks[task_name].apply(kwargs=kwargs, throw=True)
        else:
            app.send_task(task_name, kwargs=kwargs)
    except Exception as error:
        logger.warning("outbox relay of message %s failed: %s", message_id, error)
        OutboxMessage.objects.filter(pk=message_id).update(
            send_attempts=F("send_attempts") + 1, last_error=str(error)[:500]
        )
        if app.conf.task_always_eager:
            raise
        return False  # the broker is down: left for the sweep
    return True


def _messages_mark_published(message_ids: list[int]) -> None:
    """One statement (one commit) for every message the sweep just sent."""
    if message_ids:
        OutboxMessage.objects.filter(pk__in=message_ids).update(
            send_attempts=F("send_attempts") + 1, published_at=timezone.now(), last_error=""
        )


def outbox_resendable(now=None):
    """Messages the sweep sends (again): not done, and either refused by the broker and
    never published (after the grace), or published — by the relay at commit, which
    records nothing, or by the sweep — longer ago than the redelivery timeout. A broker
    backlog shorter than that timeout is not sent a second time."""
    now = now or timezone.now()
    grace = now - timedelta(seconds=settings.OUTBOX_RELAY_GRACE_SECONDS)
    redeliver = now - timedelta(seconds=settings.OUTBOX_REDELIVER_SECONDS)
    never_published = Q(published_at__isnull=True)
    return (
        outbox_pending(now)
        .filter(created_at__lte=grace)
        .filter(
            (never_published & Q(send_attempts__gt=0))
            | (never_published & Q(created_at__lte=redeliver))
            | Q(published_at__lte=redeliver)
        )
    )


def outbox_pending(now=None):
    """Messages not done whose work is still tried: younger than OUTBOX_GIVE_UP_SECONDS.
    Older ones (a task that fails for good: an SMS gateway refusing a number, say) are
    no longer sent (outbox_given_up), so a failing task is not sent every
    OUTBOX_REDELIVER_SECONDS for ever; the metric and its alert name them."""
    now = now or timezone.now()
    give_up = now - timedelta(seconds=settings.OUTBOX_GIVE_UP_SECONDS)
    return OutboxMessage.objects.filter(done_at__isnull=True, created_at__gt=give_up)


def outbox_given_up(now=None):
    """Messages whose task never marked them done within OUTBOX_GIVE_UP_SECONDS."""
    now = now or timezone.now()
    give_up = now - timedelta(seconds=settings.OUTBOX_GIVE_UP_SECONDS)
    return OutboxMessage.objects.filter(done_at__isnull=True, created_at__lte=give_up)


def outbox_relay_pending(*, limit: int = 500) -> int:
    """Send (again) the messages outbox_resendable selects; returns the count sent. One
    read for the batch and one write recording every message published: a message sent
    but not yet recorded when the process dies is sent again later (its task is
    idempotent)."""
    sent = []
    try:
        for message_id, task_name, kwargs in (
            outbox_resendable()
            .order_by("created_at", "pk")  # ties (one clock tick) in the order recorded
            .values_list("pk", "task_name", "kwargs")[:limit]
        ):
            if not _message_send(message_id=message_id, task_name=task_name, kwargs=kwargs):
                break  # the broker is down; the next sweep tries again
            sent.append(message_id)
    finally:
        _messages_mark_published(sent)  # also those sent before an eager task raised
    return len(sent)
