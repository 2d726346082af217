"""Personal data at rest and in every way out (req. 16, 18): encrypted in
the database, masked in HTML, JSON and exports, key rotation, error pages that leak
nothing."""

from io import BytesIO, StringIO
from zipfile import ZipFile

import pytest
from cryptography.fernet import InvalidToken
from django.core.management import call_command
from django.db import connection
from django.test import Client
from openpyxl import load_workbook

from counters.models import Case
from draws.models import DailySeed
from langzhong_si.identity import personal_data_decrypt, personal_data_encrypt
from staff.roles import Role
from tests.factories import make_staff, sign_in

pytestmark = pytest.mark.django_db


def test_a_raw_sql_read_shows_no_plaintext_id_number(submitted_case):
    _case, number = submitted_case
    with connection.cursor() as cursor:
        cursor.execute("SELECT * FROM counters_case")
        rows = cursor.fetchall()
        cursor.execute("SELECT data FROM audit_auditevent")
        events = cursor.fetchall()
    assert rows and number not in repr(rows) and number not in repr(events)


def test_exports_carry_only_masked_id_numbers(submitted_case, hall):
    case, number = submitted_case
    lead = make_staff(Role.TEAM_LEAD)
    client = Client()
    sign_in(client, lead)
    archive = client.get(f"/audit/cases/{case.pk}/archive.zip")
    assert archive.status_code == 200
    with ZipFile(BytesIO(archive.content)) as zipped:
        content = b"".join(zipped.read(name) for name in zipped.namelist())
    assert number.encode() not in content and case.applicant_id_masked.encode() in content
    for url in ("/reports/export.xlsx", "/evaluation/export.xlsx"):
        workbook = load_workbook(BytesIO(client.get(url).content))
        cells = [str(cell.value) for sheet in workbook for row in sheet.iter_rows() for cell in row]
        assert not any(number in cell for cell in cells)


def test_rotating_the_key_re_encrypts_everything_and_old_keys_can_go(submitted_case, settings):
    case, number = submitted_case
    old = settings.PERSONAL_DATA_KEY
    settings.PERSONAL_DATA_HASH_KEY = old  # look-ups keep their key
    settings.PERSONAL_DATA_KEY, settings.PERSONAL_DATA_OLD_KEYS = "a-brand-new-key-1", [old]
    assert personal_data_decrypt(Case.objects.get(pk=case.pk).applicant_id_encrypted) == number
    call_command("rotate_personal_data_key", stdout=StringIO())
    settings.PERSONAL_DATA_OLD_KEYS = []
    assert personal_data_decrypt(Case.objects.get(pk=case.pk).applicant_id_encrypted) == number
    for seed in DailySeed.objects.all():
        assert len(personal_data_decrypt(seed.seed)) == 64


def test_error_pages_show_no_internals(client, settings):
    settings.DEBUG = False
    page = client.get("/no-such-page/")
    assert page.status_code == 404 and "Traceback" not in page.content.decode()
    api = client.get("/api/no-such-thing/")
    assert api.status_code == 404 and api.json()["error"]["code"] == "not_found"


def test_a_value_does_not_decrypt_once_its_key_is_gone(settings):
    token = personal_data_encrypt("511381199001011234")
    assert personal_data_decrypt(token) == "511381199001011234"
    settings.PERSONAL_DATA_KEY, settings.PERSONAL_DATA_OLD_KEYS = "a-brand-new-key-2", []
    with pytest.raises(InvalidToken):
        personal_data_decrypt(token)
