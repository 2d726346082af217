"""A refused request leaves one log line, not a traceback (tracebacks are for faults)."""

import io
import logging

import pytest
from django.conf import settings
from django.utils.module_loading import import_string

from staff.roles import Role
from tests.factories import make_staff


@pytest.fixture
def console():
    """A handler with the console's filters, exactly as the settings list them."""
    stream = io.StringIO()
    handler = logging.StreamHandler(stream)
    for name in settings.LOGGING["handlers"]["console"]["filters"]:
        handler.addFilter(import_string(settings.LOGGING["filters"][name]["()"])())
    logger = logging.getLogger("django.request")
    logger.addHandler(handler)
    yield stream
    logger.removeHandler(handler)


@pytest.mark.django_db
def test_a_refused_request_logs_one_line_without_a_traceback(client, console):
    clerk = make_staff(Role.CLERK)
    client.force_login(clerk)
    assert client.get("/security/").status_code == 403
    text = console.getvalue()
    assert "Forbidden (Permission denied)" in text
    assert "Traceback" not in text


def test_a_fault_keeps_its_traceback(console):
    try:
        raise ValueError("a real fault")
    except ValueError:
        logging.getLogger("django.request").error("Internal Server Error", exc_info=True)
    assert "Traceback" in console.getvalue()
