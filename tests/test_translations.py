"""zh-hans is the default language: every UI string must have its Chinese text, and
the compiled catalog must match the source catalog."""

import gettext
import re
from pathlib import Path

PO = Path(__file__).resolve().parent.parent / "locale" / "zh_Hans" / "LC_MESSAGES" / "django.po"


def _entries():
    for block in PO.read_text(encoding="utf-8").split("\n\n"):
        if re.search(r"^msgid ", block, re.M) and "Content-Type: text/plain" not in block:
            yield block


def test_every_string_has_a_chinese_translation():
    untranslated = [
        block
        for block in _entries()
        if "#, fuzzy" in block or re.search(r'^msgstr(\[0\])? ""\s*$', block, re.M)
    ]
    assert untranslated == []


def test_the_compiled_catalog_is_up_to_date():
    catalog = gettext.GNUTranslations(PO.with_suffix(".mo").open("rb"))
    assert catalog.gettext("Sign in") == "登录"
    source_ids = len(list(_entries()))
    assert len(catalog._catalog) - 1 >= source_ids  # the header is the extra entry
