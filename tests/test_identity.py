import datetime

import pytest
from django.core.exceptions import ValidationError

from langzhong_si.identity import (
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
