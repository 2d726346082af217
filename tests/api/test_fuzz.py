"""Schemathesis against the OpenAPI schema (req. 32): generated and mutated
requests to every operation, as the roles that use it, give no 5xx and nothing the
schema does not document."""

import pytest
import schemathesis
from django.core.wsgi import get_wsgi_application
from hypothesis import HealthCheck, settings
from schemathesis.specs.openapi import checks as openapi_checks

from devices.models import HallDevice
from staff.roles import Role
from tests.factories import integration_token, make_staff, registered_device, sign_in

schema = schemathesis.openapi.from_wsgi("/api/schema/", get_wsgi_application())

# State-dependent operations answer 404/409 to well-formed requests (no ticket being
# served, a task already decided): that is correct, so "valid data must be accepted"
# and the resource-lifecycle checks do not apply.
EXCLUDED = [
    openapi_checks.positive_data_acceptance,
    openapi_checks.use_after_free,
    openapi_checks.ensure_resource_availability,
    # Each request carries the role's real credentials (below), so generated "invalid"
    # credentials never reach the API; tests/test_url_roles.py covers refusals.
    openapi_checks.ignored_auth,
]


@pytest.fixture
def _connection_kept_open():
    """Django closes the connection at the end of each request; inside a test's
    transaction it must stay open (as the test client arranges for itself)."""
    from django.core.signals import request_finished, request_started
    from django.db import close_old_connections

    request_started.disconnect(close_old_connections)
    request_finished.disconnect(close_old_connections)
    yield
    request_started.connect(close_old_connections)
    request_finished.connect(close_old_connections)


@pytest.fixture
def credentials(db, hall, _connection_kept_open):
    from django.test import Client

    _kiosk, kiosk = registered_device(HallDevice.Kind.KIOSK, name="fuzz kiosk")
    _display, display = registered_device(HallDevice.Kind.DISPLAY, name="fuzz display")
    _pad, pad = registered_device(HallDevice.Kind.PAD, hall.window, name="fuzz pad")
    auditor = make_staff(Role.AUDITOR)
    lead = make_staff(Role.TEAM_LEAD)
    browser = Client()
    sign_in(browser, lead)
    # One integration account (acting as an intake channel) for the counter and cases.
    counter = {"headers": {"Authorization": f"Token {integration_token()}"}}
    return {
        "/api/kiosk/": {"headers": {"Authorization": f"Device {kiosk}"}},
        "/api/display/": {"headers": {"Authorization": f"Device {display}"}},
        "/api/rating-pad/": {"headers": {"Authorization": f"Device {pad}"}},
        "/api/counter/": counter,
        "/api/cases/": counter,
        # Tokens are for integration accounts only: people use their session.
        "/api/inbox/": _session(hall.sun),
        "/api/audit/": _session(auditor),
        "/api/notifications/": _session(hall.li_na),
        "/api/lead/": {"cookies": {"sessionid": browser.cookies["sessionid"].value}},
        "/api/reports/": {"cookies": {"sessionid": browser.cookies["sessionid"].value}},
        "/api/evaluation/": {"cookies": {"sessionid": browser.cookies["sessionid"].value}},
    }


def _session(user) -> dict:
    from django.test import Client

    browser = Client()
    sign_in(browser, user)
    return {"cookies": {"sessionid": browser.cookies["sessionid"].value}}


@pytest.mark.django_db
@schema.parametrize()
@settings(
    max_examples=25,
    derandomize=True,  # the same requests on every CI run: a failure is reproducible
    deadline=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
)
def test_the_api_survives_fuzzing(case, credentials):
    auth = next(
        (value for prefix, value in credentials.items() if case.path.startswith(prefix)), {}
    )
    headers = {**(case.headers or {}), **auth.get("headers", {})}
    case.call_and_validate(
        headers=headers,
        cookies=auth.get("cookies"),
        excluded_checks=EXCLUDED,
    )
