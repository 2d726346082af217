"""Names and free text as typed by people: normalised, bounded, and refused when they
carry characters that hide or reorder what a reader sees.

Services call these helpers before anything changes, so the HTML screens and the API
refuse the same input the same way (ValidationError, a 400 in the API); forms and
serializers carry the same limits so the screens can say so early.
"""

import re
import unicodedata

from django.core.exceptions import ValidationError
from django.utils.translation import get_language
from django.utils.translation import gettext as _

# One registry of limits. Where a model column is bounded the limit equals it, so
# nothing is ever cut silently on save.
NAME_MAX_LENGTH = 64  # applicant names, staff display names (CharField(64))
PAUSE_REASON_MAX_LENGTH = 64  # Window.pause_reason
RELATION_MAX_LENGTH = 32  # StaffRelative.relation
# Reasons that also go into a row's history (django-simple-history's change reason is a
# 100-character column): admin edits, qualifications, leave, availability.
CHANGE_REASON_MAX_LENGTH = 100
REASON_MAX_LENGTH = 200  # reveal, re-queue, evaluation weights
RATING_REASON_MAX_LENGTH = 300  # Rating.reason
COMMENT_MAX_LENGTH = 2000  # review decisions, inspections, follow-up notes and replies

# Characters that change what a reader sees without being seen: zero-width and joiners,
# bidirectional embeddings, overrides and isolates (the "Trojan source" trick), word
# joiners and invisible operators, the byte-order mark.
_INVISIBLE = re.compile("[\u200b-\u200f\u202a-\u202e\u2060-\u2064\u2066-\u2069\ufeff]")
# Control characters, unassigned and private-use code points, and line/paragraph
# separators: never part of a name.
_NAME_REFUSED_CATEGORIES = {"Cc", "Cf", "Cs", "Co", "Cn", "Zl", "Zp"}
_TEXT_ALLOWED_CONTROLS = {"\n", "\t"}
_SPACES = re.compile(r"\s+")


def _too_long(field: str, max_length: int) -> ValidationError:
    return ValidationError(
        _("%(field)s is too long: at most %(max)d characters.")
        % {"field": field, "max": max_length},
        code="too_long",
    )


def _bounded(value, *, max_length: int, field: str) -> str:
    value = "" if value is None else str(value)
    # Normalisation can expand a character, but never by more than this: refuse a huge
    # input before spending any work on it.
    if len(value) > 4 * max_length:
        raise _too_long(field, max_length)
    return value


def name_clean(value, *, field: str, max_length: int = NAME_MAX_LENGTH) -> str:
    """A person's name: NFKC-normalised (full-width letters become ordinary ones),
    runs of spaces folded into one, trimmed; control, zero-width and bidirectional
    formatting characters refused."""
    name = unicodedata.normalize("NFKC", _bounded(value, max_length=max_length, field=field))
    if any(unicodedata.category(char) in _NAME_REFUSED_CATEGORIES for char in name):
        raise ValidationError(
            _("%(field)s contains invisible or control characters: please type it again.")
            % {"field": field},
            code="invisible_characters",
        )
    name = _SPACES.sub(" ", name).strip()
    if len(name) > max_length:
        raise _too_long(field, max_length)
    return name


def text_clean(value, *, field: str, max_length: int) -> str:
    """Free text (a comment, a reason, a note): trimmed, line ends unified, at most
    `max_length` characters; control characters other than line breaks and tabs, and
    zero-width or bidirectional formatting characters, refused.

    NFC rather than NFKC: Chinese prose is written with full-width punctuation
    (，。：（）), which NFKC would turn into ASCII and so change what the person wrote.
    """
    text = _bounded(value, max_length=max_length, field=field)
    text = unicodedata.normalize("NFC", text.replace("\r\n", "\n").replace("\r", "\n")).strip()
    if _INVISIBLE.search(text) or any(
        unicodedata.category(char) == "Cc" and char not in _TEXT_ALLOWED_CONTROLS for char in text
    ):
        raise ValidationError(
            _("%(field)s contains invisible or control characters: please type it again.")
            % {"field": field},
            code="invisible_characters",
        )
    if len(text) > max_length:
        raise _too_long(field, max_length)
    return text


def list_separator() -> str:
    """How the current language separates the items of a list: 、 in Chinese, a comma
    in English."""
    return "、" if (get_language() or "").startswith("zh") else ", "
