"""What the catalog search matches: the item's name and code, and the pinyin (full
and initials) of the name and of the abbreviations people actually type."""

from pypinyin import Style, lazy_pinyin

# Long forms in official names and the short forms citizens and clerks use.
ABBREVIATIONS = [
    ("社会保障卡", "社保卡"),
    ("社会保险", "社保"),
    ("医疗保险", "医保"),
    ("基本养老保险", "养老保险"),
]


def _letters(syllables: list[str]) -> str:
    return "".join(ch for ch in "".join(syllables) if ch.isascii() and ch.isalnum()).lower()


def pinyin_initials(text: str) -> str:
    return _letters(lazy_pinyin(text, style=Style.FIRST_LETTER))


def search_text_for(*, code: str, name: str) -> str:
    forms = [name]
    for long, short in ABBREVIATIONS:
        if long in name:
            forms.append(name.replace(long, short))
    parts = [code.lower(), *forms]
    for form in forms:
        parts.append(pinyin_initials(form))
        parts.append(_letters(lazy_pinyin(form)))
    return " ".join(dict.fromkeys(parts))


def normalise_query(query: str) -> str:
    return "".join(query.split()).lower()
