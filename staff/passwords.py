"""Password rules (req. 1): at least three of four character classes, no reuse of
the last five passwords, and a change every 90 days (enforced by the middleware)."""

import datetime

from django.conf import settings
from django.contrib.auth import get_user_model
from django.contrib.auth.hashers import Argon2PasswordHasher, check_password
from django.contrib.auth.password_validation import validate_password
from django.core.exceptions import ValidationError
from django.utils import timezone
from django.utils.crypto import salted_hmac
from django.utils.translation import gettext as _
from django.utils.translation import ngettext

CLASSES = (
    ("upper", str.isupper),
    ("lower", str.islower),
    ("digit", str.isdigit),
    ("symbol", lambda char: not char.isalnum()),
)


class Argon2idHasher(Argon2PasswordHasher):
    """Argon2id with OWASP's first recommended parameters (46 MiB of memory, one pass,
    one lane): about 45 ms of one core per sign-in. Django's default PBKDF2 (1,000,000
    rounds) took 215 ms of CPU and 250-550 ms on a shared two-core server, nearly the whole
    sign-in; Django's own Argon2 defaults (100 MiB, eight lanes) hold twice the memory per
    concurrent sign-in and contend for cores. The algorithm name is Django's, so its stock
    hasher reads these hashes too."""

    time_cost = 1
    memory_cost = 47104  # KiB
    parallelism = 1


class CharacterClassesValidator:
    """At least `minimum` of: upper-case letters, lower-case letters, digits, symbols."""

    def __init__(self, minimum: int = 3):
        self.minimum = minimum

    def validate(self, password, user=None):
        present = sum(any(test(char) for char in password) for _name, test in CLASSES)
        if present < self.minimum:
            raise ValidationError(self.get_help_text(), code="password_classes")

    def get_help_text(self):
        return _(
            "Use at least %(minimum)d of: upper-case letters, lower-case letters, digits "
            "and symbols."
        ) % {"minimum": self.minimum}


class PasswordHistoryValidator:
    """Refuses any of the user's last `count` passwords; records each new one."""

    def __init__(self, count: int = 5):
        self.count = count

    def _recent(self, user):
        from staff.models import PasswordRecord

        return PasswordRecord.objects.filter(user=user).order_by("-set_at", "-pk")[: self.count]

    def validate(self, password, user=None):
        if user is None or user.pk is None:
            return
        if any(check_password(password, record.password_hash) for record in self._recent(user)):
            raise ValidationError(
                ngettext(
                    "Choose a password you have not used before.",
                    "Choose a password different from your last %(count)d.",
                    self.count,
                )
                % {"count": self.count},
                code="password_reused",
            )

    def password_changed(self, password, user=None):
        from staff.models import PasswordRecord

        if user is not None and user.pk is not None:
            PasswordRecord.objects.create(
                user=user, password_hash=user.password, set_at=timezone.now()
            )

    def get_help_text(self):
        return _("It must differ from your last %(count)d passwords.") % {"count": self.count}


def password_age(user) -> datetime.timedelta:
    """How long ago the user last set their password (from sign-up if never)."""
    latest = _latest_record(user)
    return timezone.now() - (latest["set_at"] if latest else user.date_joined)


def _latest_record(user) -> dict | None:
    from staff.models import PasswordRecord

    return (
        PasswordRecord.objects.filter(user=user)
        .order_by("-set_at", "-pk")
        .values("pk", "set_at", "set_by_id")
        .first()
    )


def password_state_expired(*, user, set_at, set_by_id) -> bool:
    """A password must be changed when it is older than the maximum age or someone
    else set it (an administrator's reset: only its owner may know a password)."""
    if set_by_id is not None and set_by_id != user.pk:
        return True
    age = timezone.now() - (set_at or user.date_joined)
    return age > datetime.timedelta(days=settings.PASSWORD_MAX_AGE_DAYS)


def password_expired(user) -> bool:
    return password_state_expired(user=user, **_password_set(user))


def _password_set(user) -> dict:
    """When and by whom the current password was set. Read with the account by the
    request's sign-in (staff.backends) while the password is still the one read then."""
    state = getattr(user, "_password_state", None)
    if state is not None and state[0] == user.password:
        return {"set_at": state[1], "set_by_id": state[2]}
    latest = _latest_record(user) or {}
    return {"set_at": latest.get("set_at"), "set_by_id": latest.get("set_by_id")}


def password_record_id(user) -> int | None:
    """The record of the current password (None: set before records were kept)."""
    return (_latest_record(user) or {}).get("pk")


def password_set_by(user) -> int | None:
    """Who set the current password (None: its owner, or set-up)."""
    return _password_set(user)["set_by_id"]


# The session's note that its person entered a sign-in code for the password they signed
# in with (security_desk): bound to that password, and to that session only.
SIGN_IN_CODE_SESSION_KEY = "sign_in_code_for"


def password_token(user) -> str:
    """A keyed token of the current password's hash, for the session's note."""
    return salted_hmac("staff.sign_in_code", user.password, algorithm="sha256").hexdigest()


def sign_in_code_awaited(request) -> bool:
    """Someone else set the password this person signed in with (a new account's first,
    an administrator's reset), and this session has not had the sign-in code the security
    administrator gave them: nothing opens until it has (staff.middleware), not even the
    authenticator's enrolment. So neither administrator alone can sign in as another."""
    set_by_id = password_set_by(request.user)
    if set_by_id is None or set_by_id == request.user.pk:
        return False
    return request.session.get(SIGN_IN_CODE_SESSION_KEY) != password_token(request.user)


def password_generate(username: str) -> str:
    """A random password that passes the rules for an account of this name (the demo's
    set-up). A candidate can by chance share most of its letters with the name (the
    similarity rule): another is drawn."""
    account = get_user_model()(username=username)
    for _attempt in range(20):
        candidate = _password_candidate()
        try:
            validate_password(candidate, account)
        except ValidationError:
            continue
        return candidate
    raise RuntimeError("no generated password passed the password rules in 20 draws")


def _password_candidate() -> str:
    import secrets
    import string

    required = [
        secrets.choice(chars)
        for chars in (string.ascii_uppercase, string.ascii_lowercase, string.digits, "-_.!")
    ]
    characters = list(secrets.token_urlsafe(10)) + required
    secrets.SystemRandom().shuffle(characters)
    return "".join(characters)
