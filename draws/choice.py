"""The verifiable choice behind every draw: pure functions, shared by the draw
service, by `verify_draws` and (re-implemented with the standard library only) by
scripts/verify_draws_bundle.py, so what is checked is exactly what was run.

choice = HMAC-SHA256(seed, message) as an integer, modulo the pool size, where the
message binds the day, the draw's number, its purpose, its subject and the pool in
its canonical order. With the seed secret nobody can predict a choice; with it
revealed anybody can recompute one. The modulo bias for pools below 10^6 is under
2^-230: negligible.

Two schemes of pool members (Draw.scheme):
1. the user ids, sorted by id (draws recorded before scheme 2);
2. per-day pseudonyms (a keyed hash of day and user id), sorted by pseudonym, so a
   day's bundle can be published for recomputation without user ids, and ranks in
   a pool do not link a person across days.
"""

import datetime
import functools
import hashlib
import hmac

SCHEME_IDS = 1
SCHEME_PSEUDONYMS = 2
# 80 bits: a collision inside one pool is as likely as guessing a 2^-70 event.
_PSEUDONYM_HEX = 20


def seed_commitment(seed_hex: str) -> str:
    return hashlib.sha256(bytes.fromhex(seed_hex)).hexdigest()


# Every draw of a day names its pool's members: each is worked out once per process and
# day (about 40 keyed hashes a draw otherwise; at most a few megabytes held).
@functools.lru_cache(maxsize=8192, typed=True)
def draw_member_pseudonym(*, key: bytes, day: datetime.date, user_id: int) -> str:
    """A person's stand-in in one day's draws: stable for the day, unlinkable across days
    without the key."""
    message = f"draw-member|{day.isoformat()}|{user_id}".encode()
    return hmac.digest(key, message, "sha256").hex()[:_PSEUDONYM_HEX]


def draw_pool_canonical(
    *, key: bytes, day: datetime.date, pool: list[int]
) -> tuple[list[int], list[str]]:
    """The pool in scheme 2's order (by pseudonym) and the pseudonyms in that order."""
    named = sorted(
        (draw_member_pseudonym(key=key, day=day, user_id=user_id), user_id) for user_id in pool
    )
    return [user_id for _, user_id in named], [pseudonym for pseudonym, _ in named]


def draw_message(
    *, day: datetime.date, number: int, purpose: str, subject: str, pool: list
) -> bytes:
    members = ",".join(str(member) for member in pool)
    return f"{day.isoformat()}|{number}|{purpose}|{subject}|{members}".encode()


def draw_choice_index(*, seed_hex: str, message: bytes, pool_size: int) -> int:
    if pool_size < 1:
        raise ValueError("cannot draw from an empty pool")
    # hmac.digest: HMAC-SHA256 in one call (hmac.new(...).digest() builds two objects).
    digest = hmac.digest(bytes.fromhex(seed_hex), message, "sha256")
    return int.from_bytes(digest, "big") % pool_size


def sample_fraction(*, seed_hex: str, subject: str) -> float:
    """A verifiable number in [0, 1) for a sampling decision about `subject`."""
    digest = hmac.digest(bytes.fromhex(seed_hex), f"sample|{subject}".encode(), "sha256")
    return int.from_bytes(digest[:8], "big") / 2**64
