"""Bearer credentials the system hands out once: API keys, hall-device credentials and
device registration links. One rule for all of them: 256 random bits, shown once, stored
only as a SHA-256 digest (plus a short prefix to tell them apart in support), and found
again by that digest.

A plain, unkeyed SHA-256 is enough because the secrets are random: there is nothing to
guess from a digest, so no salt or slow hash is needed, and a copied digest (from the
table or a backup) is not itself a credential. Common code: it imports no app.
"""

import hashlib
import secrets
from typing import NamedTuple

CREDENTIAL_BYTES = 32
# Enough to tell one credential from another in an admin list or an audit event; far
# too short to help anyone guess the rest (the other 35 characters are 210 random bits).
CREDENTIAL_PREFIX_LENGTH = 8


class Credential(NamedTuple):
    secret: str  # handed out once, never stored
    prefix: str
    digest: str


def credential_digest(secret: str) -> str:
    """The stored form of a credential, and the value it is looked up by."""
    return hashlib.sha256(secret.encode()).hexdigest()


def credential_new() -> Credential:
    secret = secrets.token_urlsafe(CREDENTIAL_BYTES)
    return Credential(secret, secret[:CREDENTIAL_PREFIX_LENGTH], credential_digest(secret))
