"""The verifiable choice behind every draw: pure functions, shared by the draw
service and by `verify_draws`, so what is checked is exactly what was run.

choice = HMAC-SHA256(seed, message) as an integer, modulo the pool size, where the
message binds the day, the draw's number, its purpose, its subject and the sorted
pool. With the seed secret nobody can predict a choice; with it revealed anybody can
recompute one. The modulo bias for pools below 10^6 is under 2^-230: negligible.
"""

import datetime
import hashlib
import hmac


def seed_commitment(seed_hex: str) -> str:
    return hashlib.sha256(bytes.fromhex(seed_hex)).hexdigest()


def draw_message(
    *, day: datetime.date, number: int, purpose: str, subject: str, pool: list[int]
) -> bytes:
    members = ",".join(str(member) for member in pool)
    return f"{day.isoformat()}|{number}|{purpose}|{subject}|{members}".encode()


def draw_choice_index(*, seed_hex: str, message: bytes, pool_size: int) -> int:
    if pool_size < 1:
        raise ValueError("cannot draw from an empty pool")
    digest = hmac.new(bytes.fromhex(seed_hex), message, hashlib.sha256).digest()
    return int.from_bytes(digest, "big") % pool_size


def sample_fraction(*, seed_hex: str, subject: str) -> float:
    """A verifiable number in [0, 1) for a sampling decision about `subject`."""
    digest = hmac.new(bytes.fromhex(seed_hex), f"sample|{subject}".encode(), hashlib.sha256)
    return int.from_bytes(digest.digest()[:8], "big") / 2**64
