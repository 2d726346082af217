"""Names and free text: normalised, bounded, refused when they hide characters."""

import pytest
from django.core.exceptions import ValidationError

from langzhong_si.text import name_clean, text_clean

INVISIBLE = {
    "zero-width space": "\u200b",
    "zero-width joiner": "\u200d",
    "left-to-right mark": "\u200e",
    "right-to-left override": "\u202e",
    "left-to-right embedding": "\u202a",
    "word joiner": "\u2060",
    "invisible separator": "\u2063",
    "first-strong isolate": "\u2068",
    "byte-order mark": "\ufeff",
}


def test_a_name_is_nfkc_normalised_and_its_spaces_folded():
    assert name_clean("  ＷＡＮＧ   Ｄａｓｈａｎ ", field="Name") == "WANG Dashan"
    assert name_clean("阿卜杜·买买提", field="Name") == "阿卜杜·买买提"


@pytest.mark.parametrize("char", INVISIBLE.values(), ids=INVISIBLE.keys())
def test_a_name_with_an_invisible_formatting_character_is_refused(char):
    with pytest.raises(ValidationError) as refused:
        name_clean(f"王{char}大山", field="Name")
    assert refused.value.code == "invisible_characters"


@pytest.mark.parametrize("char", ["\x00", "\x07", "\n", "\t", "\x7f", "\u2028"])
def test_a_name_with_a_control_character_or_line_break_is_refused(char):
    with pytest.raises(ValidationError) as refused:
        name_clean(f"王大{char}山", field="Name")
    assert refused.value.code == "invisible_characters"


def test_a_name_longer_than_its_limit_is_refused():
    with pytest.raises(ValidationError) as refused:
        name_clean("王" * 65, field="Name")
    assert refused.value.code == "too_long"


def test_free_text_keeps_chinese_full_width_punctuation_and_line_breaks():
    text = "材料不全：缺少（解除劳动关系证明）。\r\n请补交！"
    assert text_clean(text, field="Comment", max_length=200) == (
        "材料不全：缺少（解除劳动关系证明）。\n请补交！"
    )


@pytest.mark.parametrize("char", INVISIBLE.values(), ids=INVISIBLE.keys())
def test_free_text_with_an_invisible_formatting_character_is_refused(char):
    with pytest.raises(ValidationError) as refused:
        text_clean(f"同意{char}退回", field="Comment", max_length=200)
    assert refused.value.code == "invisible_characters"


def test_free_text_with_a_control_character_is_refused():
    with pytest.raises(ValidationError):
        text_clean("ok\x1b[31m", field="Comment", max_length=200)


@pytest.mark.parametrize("length", [201, 100_000])
def test_free_text_longer_than_its_limit_is_refused_with_a_clear_message(length):
    with pytest.raises(ValidationError) as refused:
        text_clean("字" * length, field="Comment", max_length=200)
    assert refused.value.code == "too_long"
    assert "200" in refused.value.messages[0]


def test_free_text_at_its_limit_is_accepted():
    assert text_clean("字" * 200, field="Comment", max_length=200) == "字" * 200
