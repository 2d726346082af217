import datetime
import functools

from django.conf import settings
from django.db import transaction
from django.db.models import Count, OuterRef, Subquery
from django.db.models.functions import Coalesce

from draws.models import DailySeed, Draw
from langzhong_si.identity import personal_data_decrypt

# Committed seeds as stored (encrypted), by (agency, day), of the last day asked for. A
# committed seed's value never changes (a key rotation re-encrypts it: the old text still
# decrypts with the old key, kept until the processes restart) and is never removed, so a
# process reads each at most once; it remembers one only after the transaction that read it
# commits (a seed created in a transaction or savepoint that rolls back is never
# remembered). Web threads share it: it is replaced, never changed in place. A database
# restored under running processes needs them restarted (README, "The restore drill").
_seeds_stored: dict[tuple[int, datetime.date], str] = {}


def daily_seed_stored(*, agency_id: int, day: datetime.date) -> str | None:
    """An agency's seed of `day` as stored (encrypted), or None while none is committed."""
    key = (agency_id, day)
    stored = _seeds_stored.get(key)
    if stored is not None:
        return stored
    seeds = DailySeed.objects.filter(agency_id=agency_id, day=day)
    stored = seeds.values_list("seed", flat=True).first()
    if stored is not None:
        transaction.on_commit(lambda: _seed_remember(key, stored), robust=True)
    return stored


def _seed_remember(key: tuple[int, datetime.date], stored: str) -> None:
    global _seeds_stored
    kept = {held: value for held, value in _seeds_stored.items() if held[1] == key[1]}
    _seeds_stored = {**kept, key: stored}  # another day's are not asked for again


def daily_seed_hex(stored: str) -> str:
    """A seed as stored, decrypted: each draw and each case's sample use the day's seed,
    and its decryption cost more than the draw's own arithmetic. Remembered per stored
    text and the keys that decrypted it (the process holds the keys anyway; other keys
    decrypt afresh), two days of a thousand agencies at most."""
    return _seed_hex(stored, (settings.PERSONAL_DATA_KEY, *settings.PERSONAL_DATA_OLD_KEYS))


@functools.lru_cache(maxsize=2048)
def _seed_hex(stored: str, keys: tuple[str, ...]) -> str:
    return personal_data_decrypt(stored, keys=keys)


def draw_days_revealed(*, agency_id: int, limit: int = 90) -> list[dict]:
    """The latest days whose seed of the agency is revealed, with how many draws the
    agency made each, for its auditor's download page."""
    made = (
        Draw.objects.filter(day=OuterRef("day"), agency_id=agency_id)
        .order_by()
        .values("day")
        .annotate(count=Count("pk"))
        .values("count")
    )
    return list(
        DailySeed.objects.filter(agency_id=agency_id, revealed_at__isnull=False)
        .annotate(draws=Coalesce(Subquery(made), 0))
        .order_by("-day")
        .values("day", "commitment", "draws")[:limit]
    )
