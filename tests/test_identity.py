import datetime

import pytest
from django.core.exceptions import ValidationError

from langzhong_si.identity import (
    credit_code_check_char,
    credit_code_validate,
    id_number_digest,
    id_number_mask,
    id_number_validate,
    personal_data_decrypt,
    personal_data_encrypt,
)

VALID = ["11010519491231002X", "440524188001010014"]


@pytest.mark.parametrize("number", VALID)
def test_it_accepts_the_standard_examples(number):
    assert id_number_validate(number) == number


def test_it_accepts_a_lowercase_x_as_x():
    assert id_number_validate("11010519491231002x") == "11010519491231002X"


@pytest.mark.parametrize("number", VALID)
def test_it_refuses_every_single_character_change(number):
    alphabet = "0123456789X"
    for position in range(len(number)):
        for replacement in alphabet:
            if replacement == number[position]:
                continue
            changed = number[:position] + replacement + number[position + 1 :]
            with pytest.raises(ValidationError):
                id_number_validate(changed)


@pytest.mark.parametrize(
    "number",
    ["110105194902300018", "110105194913010016", ""],
    ids=["30 February", "month 13", "empty"],
)
def test_it_refuses_impossible_dates_and_empty_input(number):
    with pytest.raises(ValidationError):
        id_number_validate(number)


def test_it_refuses_a_future_birth_date():
    from langzhong_si.identity import id_number_check_char

    future = datetime.date.today() + datetime.timedelta(days=400)  # noqa: DTZ011
    first17 = f"110105{future:%Y%m%d}001"
    with pytest.raises(ValidationError) as refused:
        id_number_validate(first17 + id_number_check_char(first17))
    assert refused.value.code == "id_number_birth"


def test_it_masks_all_but_the_first_six_and_last_four():
    assert id_number_mask("11010519491231002X") == "110105********002X"


def test_encryption_round_trips_and_hides_the_number():
    token = personal_data_encrypt("11010519491231002X")
    assert "11010519491231002X" not in token
    assert personal_data_decrypt(token) == "11010519491231002X"


def test_the_look_up_digest_is_stable_and_keyed():
    assert id_number_digest("11010519491231002X") == id_number_digest("11010519491231002X")
    assert "11010519491231002X" not in id_number_digest("11010519491231002X")


# --- One person, one identity: the canonical form ------------------------------

FULL_WIDTH = str.maketrans("0123456789Xx", "０１２３４５６７８９Ｘｘ")
ARABIC_INDIC = str.maketrans("0123456789", "٠١٢٣٤٥٦٧٨٩")
DEVANAGARI = str.maketrans("0123456789", "०१२३४५६७८९")


def test_it_accepts_full_width_digits_as_the_same_number():
    assert id_number_validate("11010519491231002X".translate(FULL_WIDTH)) == "11010519491231002X"


def test_it_accepts_spaces_between_the_groups_and_a_full_width_lowercase_x():
    typed = "110105 19491231 002ｘ"
    assert id_number_validate(typed) == "11010519491231002X"


@pytest.mark.parametrize("script", [ARABIC_INDIC, DEVANAGARI], ids=["arabic-indic", "devanagari"])
def test_it_refuses_other_scripts_digits_with_a_clear_message(script):
    with pytest.raises(ValidationError) as refused:
        id_number_validate("440524188001010014".translate(script))
    assert refused.value.code == "id_number_characters"
    assert "0–9" in refused.value.messages[0]


def test_it_refuses_a_single_foreign_digit_hidden_in_an_ascii_number():
    with pytest.raises(ValidationError) as refused:
        id_number_validate("44052418800101001٤")
    assert refused.value.code == "id_number_characters"


def test_a_full_width_number_has_the_same_digest_as_the_ascii_one():
    assert id_number_digest("11010519491231002X".translate(FULL_WIDTH)) == id_number_digest(
        "11010519491231002X"
    )


def test_the_digest_refuses_a_number_in_other_scripts_digits():
    with pytest.raises(ValidationError):
        id_number_digest("440524188001010014".translate(ARABIC_INDIC))


def test_it_refuses_a_huge_input_before_normalising_it():
    with pytest.raises(ValidationError) as refused:
        id_number_validate("1" * 100_000)
    assert refused.value.code == "id_number_shape"


def test_a_full_width_mobile_number_is_the_same_number():
    from langzhong_si.identity import phone_number_validate

    assert phone_number_validate("１３８ ００１３ ８０００") == "13800138000"
    assert phone_number_validate("  ") == ""


@pytest.mark.parametrize(
    "typed",
    ["13800138000".translate(ARABIC_INDIC), "13800138000".translate(DEVANAGARI), "1380013800O"],
    ids=["arabic-indic", "devanagari", "letter O"],
)
def test_a_mobile_number_in_other_characters_is_refused(typed):
    from langzhong_si.identity import phone_number_validate

    with pytest.raises(ValidationError) as refused:
        phone_number_validate(typed)
    assert refused.value.code == "phone"


# Unified social credit codes (GB 32100-2015) as printed on real business licences.
REAL_CREDIT_CODES = ["91110108551385082Q", "914403001922038216", "91110000100006485K"]


@pytest.mark.parametrize("code", REAL_CREDIT_CODES)
def test_real_credit_codes_are_valid(code):
    assert credit_code_validate(code) == code


def test_a_credit_code_is_normalised_from_full_width_spaces_and_lower_case():
    assert credit_code_validate("９１１１０１０８ 551385082q") == "91110108551385082Q"


@pytest.mark.parametrize("code", REAL_CREDIT_CODES)
def test_every_single_character_change_of_a_credit_code_is_refused(code):
    for position in range(18):
        for char in "0123456789ABCDEFGHJKLMNPQRTUWXY":
            if char == code[position]:
                continue
            changed = code[:position] + char + code[position + 1 :]
            with pytest.raises(ValidationError) as refused:
                credit_code_validate(changed)
            assert refused.value.code == "credit_code_checksum"


@pytest.mark.parametrize("letter", list("IOZSV"))
def test_letters_the_standard_leaves_out_are_refused_with_their_reason(letter):
    with pytest.raises(ValidationError) as refused:
        credit_code_validate("91110108551385082" + letter)
    assert refused.value.code == "credit_code_characters"


@pytest.mark.parametrize("code", ["91110108551385082", "91110108551385082QQ", ""])
def test_a_credit_code_of_the_wrong_length_is_refused(code):
    with pytest.raises(ValidationError) as refused:
        credit_code_validate(code)
    assert refused.value.code == "credit_code_shape"


def test_the_credit_code_check_character_is_mod_31():
    assert credit_code_check_char("91110108551385082") == "Q"
    assert credit_code_check_char("91440300192203821") == "6"
