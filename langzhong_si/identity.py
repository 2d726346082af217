"""Citizen identity numbers (居民身份证号码, GB 11643-1999): validation, masking,
keyed look-up hashes and encryption at rest.

The full number is only ever held encrypted; lists and pages show the masked form and
look-ups go through a keyed hash, so neither the database nor a log line carries it.
"""

import base64
import datetime
import functools
import hashlib
import hmac
import re
import unicodedata

from cryptography.fernet import Fernet, MultiFernet
from django.conf import settings
from django.core.exceptions import ValidationError
from django.utils import timezone
from django.utils.translation import gettext as _

_WEIGHTS = [7, 9, 10, 5, 8, 4, 2, 1, 6, 3, 7, 9, 10, 5, 8, 4, 2]
_CHECK_CHARS = "10X98765432"
_SHAPE = re.compile(r"[0-9]{17}[0-9X]")
_ID_CHARACTERS = frozenset("0123456789X")
_PHONE = re.compile(r"1[0-9]{10}")
# Room for an 18-character number typed with spaces between its groups; anything longer
# is refused before any normalisation work.
ID_NUMBER_INPUT_MAX_LENGTH = 40
PHONE_INPUT_MAX_LENGTH = 20


def id_number_check_char(first17: str) -> str:
    """ISO 7064 MOD 11-2 check character for the first 17 digits."""
    total = sum(int(digit) * weight for digit, weight in zip(first17, _WEIGHTS, strict=True))
    return _CHECK_CHARS[total % 11]


def _canonical(raw: str) -> str:
    """NFKC (full-width ０-９ and Ｘ become ASCII), every space removed, upper case.
    Other scripts' digits (Arabic-Indic ٠-٩, Devanagari ०-९) are NOT mapped by NFKC and
    are left as they are, for the caller to refuse."""
    return "".join(unicodedata.normalize("NFKC", raw or "").split()).upper()


def id_number_normalise(raw: str) -> str:
    """The one canonical form every digest and comparison is computed on; refuses any
    character but the ASCII digits and X, so one person can never have two digests."""
    if len(raw or "") > ID_NUMBER_INPUT_MAX_LENGTH:
        raise ValidationError(
            _("An ID number has 18 characters: 17 digits and a final digit or X."),
            code="id_number_shape",
        )
    number = _canonical(raw)
    if not set(number) <= _ID_CHARACTERS:
        raise ValidationError(
            _("ID numbers use the digits 0–9 and X only."), code="id_number_characters"
        )
    return number


def id_number_birth_date(number: str) -> datetime.date:
    return datetime.date(int(number[6:10]), int(number[10:12]), int(number[12:14]))


def id_number_validate(raw: str) -> str:
    """Return the normalised number or raise ValidationError with a message a citizen
    or clerk can act on."""
    number = id_number_normalise(raw)
    if not _SHAPE.fullmatch(number):
        raise ValidationError(
            _("An ID number has 18 characters: 17 digits and a final digit or X."),
            code="id_number_shape",
        )
    try:
        birth = id_number_birth_date(number)
    except ValueError:
        raise ValidationError(
            _("The birth date in this ID number does not exist."), code="id_number_birth"
        ) from None
    if birth > timezone.localdate() or birth.year < 1880:
        raise ValidationError(
            _("The birth date in this ID number is not possible."), code="id_number_birth"
        )
    if id_number_check_char(number[:17]) != number[17]:
        raise ValidationError(
            _("This ID number's check digit is wrong: please check every digit."),
            code="id_number_checksum",
        )
    return number


def id_suffix_normalise(raw: str) -> str:
    """The last characters of an ID number as a citizen types them (progress look-up):
    the same canonical form as the number, or "" when it could not be part of one."""
    try:
        return id_number_normalise(raw)
    except ValidationError:
        return ""


def phone_number_validate(raw: str) -> str:
    """A mainland mobile number in its canonical form (11 ASCII digits), or "" for none.
    NFKC first, so full-width digits are the same number; any other character refused."""
    if len(raw or "") > PHONE_INPUT_MAX_LENGTH:
        raise ValidationError(_("A mobile number has 11 digits and starts with 1."), code="phone")
    number = "".join(unicodedata.normalize("NFKC", raw or "").split())
    if not number:
        return ""
    if not _PHONE.fullmatch(number):
        raise ValidationError(_("A mobile number has 11 digits and starts with 1."), code="phone")
    return number


def id_number_mask(number: str) -> str:
    head, tail = settings.ID_NUMBER_MASK_HEAD, settings.ID_NUMBER_MASK_TAIL
    if len(number) <= head + tail:
        return "*" * len(number)
    return number[:head] + "*" * (len(number) - head - tail) + number[-tail:]


def id_number_digest(number: str) -> str:
    """Keyed hash used to find a citizen's records without storing the number. Computed
    on the canonical form, so the same number typed with full-width digits, spaces or a
    lower-case x has the same digest (and a number in other characters is refused)."""
    number = id_number_normalise(number)
    key = settings.PERSONAL_DATA_HASH_KEY.encode()
    return hmac.digest(key, b"id-number:" + number.encode(), "sha256").hex()  # one call


# The counter's case search takes the last 4 to 6 characters of an ID number.
ID_TAIL_SEARCH_LENGTHS = (4, 5, 6)
_ID_TAIL_LENGTH = 6


def id_number_tail_digest(number: str) -> str:
    """Keyed hash of the number's last six characters, stored with a case so the counter
    can find it by the last digits the citizen says, without decrypting any row."""
    tail = id_number_normalise(number)[-_ID_TAIL_LENGTH:]
    key = settings.PERSONAL_DATA_HASH_KEY.encode()
    return hmac.digest(key, b"id-tail:" + tail.encode(), "sha256").hex()


def id_tail_digests(suffix: str) -> list[str]:
    """Every tail digest an ending of 4-6 characters can match (100, 10 or 1 of them:
    the missing leading characters of the six are digits, as they are in every valid
    number). [] when `suffix` cannot be the ending of an ID number."""
    suffix = id_suffix_normalise(suffix)
    if len(suffix) not in ID_TAIL_SEARCH_LENGTHS or "X" in suffix[:-1]:
        return []
    missing = _ID_TAIL_LENGTH - len(suffix)
    if missing == 0:
        return [id_number_tail_digest(suffix)]
    return [id_number_tail_digest(f"{prefix:0{missing}d}{suffix}") for prefix in range(10**missing)]


def _fernet_of(secret: str) -> Fernet:
    raw = hashlib.sha256(b"encryption:" + secret.encode()).digest()
    return Fernet(base64.urlsafe_b64encode(raw))


def _fernet() -> MultiFernet:
    """The current key encrypts; older keys (during a rotation) still decrypt."""
    return _fernet_of_keys(settings.PERSONAL_DATA_KEY, *settings.PERSONAL_DATA_OLD_KEYS)


@functools.lru_cache(maxsize=4)
def _fernet_of_keys(*keys: str) -> MultiFernet:
    """Built once per set of keys (deriving each key cost more than a short value's
    encryption); other keys (settings changed, a rotation) build their own."""
    return MultiFernet([_fernet_of(secret) for secret in keys])


def personal_data_encrypt(plain: str) -> str:
    return _fernet().encrypt(plain.encode()).decode()


def personal_data_decrypt(token: str, *, keys: tuple[str, ...] | None = None) -> str:
    """`token` decrypted with the settings' keys, or with `keys` (current first)."""
    fernet = _fernet() if keys is None else _fernet_of_keys(*keys)
    return fernet.decrypt(token.encode()).decode()


def personal_data_reencrypt(token: str) -> str:
    """The same value under the current key (for key rotation)."""
    return _fernet().rotate(token.encode()).decode()


# Unified social credit codes (统一社会信用代码, GB 32100-2015): 18 characters from 31
# (the digits and the capitals but I, O, Z, S and V), the 18th a MOD 31 check character
# over the first 17 with these weights.
CREDIT_CODE_CHARS = "0123456789ABCDEFGHJKLMNPQRTUWXY"
_CREDIT_WEIGHTS = [1, 3, 9, 27, 19, 26, 16, 17, 20, 29, 25, 13, 8, 24, 10, 30, 28]
_CREDIT_SHAPE = re.compile(rf"[{CREDIT_CODE_CHARS}]{{18}}")
CREDIT_CODE_INPUT_MAX_LENGTH = 40


def credit_code_check_char(first17: str) -> str:
    """GB 32100-2015 check character (MOD 31) for the first 17 characters."""
    total = sum(
        CREDIT_CODE_CHARS.index(char) * weight
        for char, weight in zip(first17, _CREDIT_WEIGHTS, strict=True)
    )
    return CREDIT_CODE_CHARS[(31 - total % 31) % 31]


def credit_code_validate(raw: str) -> str:
    """Return the normalised code (NFKC, no spaces, upper case) or raise ValidationError
    naming what is wrong: length, a character the standard does not use, or the check
    character."""
    if len(raw or "") > CREDIT_CODE_INPUT_MAX_LENGTH:
        raise ValidationError(
            _("A unified social credit code has 18 characters."), code="credit_code_shape"
        )
    code = _canonical(raw)
    if len(code) != 18:
        raise ValidationError(
            _("A unified social credit code has 18 characters."), code="credit_code_shape"
        )
    if not _CREDIT_SHAPE.fullmatch(code):
        raise ValidationError(
            _(
                "A unified social credit code uses the digits and the capital letters except "
                "I, O, Z, S and V."
            ),
            code="credit_code_characters",
        )
    if credit_code_check_char(code[:17]) != code[17]:
        raise ValidationError(
            _(
                "This unified social credit code's check character is wrong: please check "
                "every character against the business licence."
            ),
            code="credit_code_checksum",
        )
    return code
