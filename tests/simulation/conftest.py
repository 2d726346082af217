"""A simulated period, shared by the simulation's tests (each test gets its own run)."""

import datetime
from io import StringIO

import pytest
from django.core.management import call_command

FIRST, LAST = datetime.date(2018, 6, 25), datetime.date(2018, 6, 26)


@pytest.fixture
def simulated(db, settings, tmp_path):
    settings.VAR_DIR = tmp_path / "var"  # the demo logins it prints stay out of the checkout
    output = StringIO()
    call_command(
        "simulate_hall",
        "--from", FIRST.isoformat(), "--to", LAST.isoformat(),
        "--seed", "3", "--daily-tickets", "30",
        stdout=output,
    )  # fmt: skip
    return output.getvalue()
