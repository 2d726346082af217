"""A day's seed is decrypted once per process and keys, never past a key change."""

import pytest
from cryptography.fernet import InvalidToken

from draws.selectors import daily_seed_hex
from langzhong_si.identity import personal_data_encrypt

SEED = "ab" * 32


def test_a_stored_seed_decrypts_to_its_value():
    assert daily_seed_hex(personal_data_encrypt(SEED)) == SEED


def test_a_rotated_key_still_reads_a_seed_stored_under_the_old_one(settings):
    stored = personal_data_encrypt(SEED)
    assert daily_seed_hex(stored) == SEED
    old = settings.PERSONAL_DATA_KEY
    settings.PERSONAL_DATA_KEY, settings.PERSONAL_DATA_OLD_KEYS = "a-rotated-key-1", [old]
    assert daily_seed_hex(stored) == SEED


def test_a_seed_read_before_is_not_given_once_its_key_is_gone(settings):
    stored = personal_data_encrypt(SEED)
    assert daily_seed_hex(stored) == SEED
    settings.PERSONAL_DATA_KEY, settings.PERSONAL_DATA_OLD_KEYS = "a-rotated-key-2", []
    with pytest.raises(InvalidToken):
        daily_seed_hex(stored)
