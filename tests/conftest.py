import os
import shutil
import socket
from pathlib import Path

import pytest
from django.db import connection, connections

from langzhong_si.celery import app as celery_app

IN_CI = os.environ.get("CI", "").lower() in {"1", "true", "yes"}


def redis_reachable() -> bool:
    url = os.environ.get("CELERY_BROKER_URL", "")
    if not url.startswith("redis://"):
        return False
    try:
        with socket.create_connection(("127.0.0.1", 6379), timeout=1):
            return True
    except OSError:
        return False


DROP_NUMBER_SEQUENCES = r"""
DO $$
DECLARE old text;
BEGIN
    FOR old IN SELECT relname FROM pg_class
                WHERE relkind = 'S' AND relname LIKE 'counters\_number\_%'
    LOOP
        EXECUTE format('DROP SEQUENCE IF EXISTS %I', old);
    END LOOP;
END
$$
"""


def pytest_configure(config):
    """Test-database flushes (TransactionTestCase, `transactional_db`, `live_server`)
    empty every table, and the audit table's trigger refuses that to every session.
    The test connection is the superuser, so its flushes run in replica mode, where
    ordinary triggers do not fire: a power only a superuser has (the application's role
    cannot SET session_replication_role), confined to the flush's own transaction.
    In replica mode the foreign keys' triggers do not fire either, so the flush deletes
    each table's rows instead of truncating: a test leaves a few rows per table, and
    TRUNCATE's new files for some 80 tables and their indexes cost about 0.35 s a flush
    on this machine against 0.03 s for the deletes (some 150 flushes in a CI run)."""
    if connection.vendor != "postgresql":
        return
    from django.db import transaction
    from django.db.backends.postgresql.operations import DatabaseOperations

    flush = DatabaseOperations.execute_sql_flush
    sql_flush = DatabaseOperations.sql_flush

    def sql_flush_by_delete(self, style, tables, *, reset_sequences=False, allow_cascade=False):
        if reset_sequences:  # RESTART IDENTITY: Django's own statement
            return sql_flush(self, style, tables, reset_sequences=True, allow_cascade=allow_cascade)
        quoted = (style.SQL_FIELD(self.quote_name(table)) for table in tables)  # Django's tables
        return [f"DELETE FROM {table}" for table in quoted]  # noqa: S608 - quoted names

    def execute_sql_flush_as_superuser(self, sql_list):
        with transaction.atomic(using=self.connection.alias):
            with self.connection.cursor() as cursor:
                cursor.execute("SET LOCAL session_replication_role = replica")
            flush(self, sql_list)
            # The per-day number sequences (counters.services.number_take) go with the
            # tables they number: the next test's first ticket is A001 again.
            with self.connection.cursor() as cursor:
                cursor.execute(DROP_NUMBER_SEQUENCES)

    DatabaseOperations.execute_sql_flush = execute_sql_flush_as_superuser
    DatabaseOperations.sql_flush = sql_flush_by_delete


def pytest_collection_modifyitems(config, items):
    """Tests that need PostgreSQL or Redis skip on a laptop without them, but in CI
    a missing service fails the run rather than silently skipping."""
    for item in items:
        if "browser" in getattr(item, "fixturenames", ()):
            item.add_marker(pytest.mark.browser)  # CI runs the journeys once, on PostgreSQL
        if "redis" in item.keywords:
            # Under pytest-xdist, in one process, one after another: their Celery workers
            # share the broker's one list of unacknowledged messages (a short visibility
            # time-out in one test would hand the other process's running tasks out again),
            # and the cache tests share keys.
            item.add_marker(pytest.mark.xdist_group("redis"))
        if "redis" in item.keywords and not redis_reachable():
            reason = "needs CELERY_BROKER_URL=redis://... and a running Redis"
            item.add_marker(pytest.mark.skip(reason=reason))
        if "postgres" in item.keywords and not os.environ.get("DATABASE_URL", "").startswith(
            "postgres"
        ):
            item.add_marker(pytest.mark.skip(reason="needs DATABASE_URL=postgres://..."))


def pytest_terminal_summary(terminalreporter, exitstatus, config):
    skipped = terminalreporter.stats.get("skipped", [])
    if IN_CI and skipped:
        terminalreporter.write_line(
            f"CI: {len(skipped)} tests were skipped; every test must run in CI.", red=True
        )


def pytest_sessionfinish(session, exitstatus):
    reporter = session.config.pluginmanager.get_plugin("terminalreporter")
    if IN_CI and reporter is not None and reporter.stats.get("skipped") and exitstatus == 0:
        session.exitstatus = 1


@pytest.fixture(autouse=True, scope="session")
def _test_event_kinds():
    """Kinds that only tests record (the chain's own tests)."""
    from audit.kinds import event_kinds_declare

    event_kinds_declare(
        {kind: kind for kind in ("test.event", "test.concurrent", "test.refill",
                                 "test.as_application")}
    )  # fmt: skip


@pytest.fixture(autouse=True)
def _eager_celery(request):
    """Unit and HTTP tests run background tasks inline after commit; tests marked
    `redis` use a real worker process instead."""
    if "redis" in request.keywords:
        yield
        return
    previous = celery_app.conf.task_always_eager
    celery_app.conf.task_always_eager = True
    yield
    celery_app.conf.task_always_eager = previous


@pytest.fixture(autouse=True)
def _sites_forgotten():
    """Each test's sites are new (a rolled-back database reuses ids): nothing
    remembered about an earlier test's site may carry over."""
    from audit.agency import site_agencies_forget

    site_agencies_forget()


@pytest.fixture
def two_agencies(db):
    """Two agencies of one deployment:
    - hall, station: agency A, the home agency: its county hall and a township station.
    - agency_b, hall_b: agency B, a neighbouring district's, and its hall.
    """
    from types import SimpleNamespace

    from sites.defaults import home_site_id
    from sites.models import Site
    from tests.factories import make_agency, make_site

    hall = Site.objects.get(pk=home_site_id())
    agency_b = make_agency(code="511302", name="南充市顺庆区社会保险事业管理局")
    return SimpleNamespace(
        hall=hall,
        station=make_site(agency=hall.agency, kind="station", code="zhen1", name="老观镇社保所"),
        agency_b=agency_b,
        hall_b=make_site(agency=agency_b, kind="hall", code="hall", name="顺庆区社保服务大厅"),
    )


@pytest.fixture
def hall_b(two_agencies):
    """Agency B's hall (two_agencies)."""
    return two_agencies.hall_b


@pytest.fixture
def on_postgres():
    return connection.vendor == "postgresql"


@pytest.fixture(scope="session")
def _old_databases(django_db_setup, django_db_blocker):
    from tests.database_at import OldDatabases

    built = OldDatabases()
    yield built
    with django_db_blocker.unblock():
        built.drop_all()


@pytest.fixture
def database_at(transactional_db, _old_databases):
    """`database_at(targets)`: the connection pointed at a copy of the database at that
    migration state (tests/database_at.py); a MigrationExecutor on it is returned. After
    the test the connection points at the test database again."""
    yield _old_databases.at
    _old_databases.back_to_head()


@pytest.fixture
def hall(db):
    """The personas of most journeys:
    - li_na: window clerk at window 1; handles the case.
    - zhou: reviewer and approver qualified to level 3.
    - ma: approver only, qualified to level 3.
    - sun: reviewer qualified only to level 1 (never eligible for a level-2 case).
    - item: a level-2 counter item with one key material.
    """
    from types import SimpleNamespace

    from staff.roles import Role
    from tests.factories import ItemFactory, MaterialFactory, WindowFactory, make_staff

    item = ItemFactory(risk_level=2)
    material = MaterialFactory(item=item, name="居民身份证")
    return SimpleNamespace(
        li_na=make_staff(Role.CLERK, name="李娜"),
        zhou=make_staff(
            [Role.REVIEWER, Role.APPROVER], review_level=3, approval_level=3, name="周建国"
        ),
        ma=make_staff(Role.APPROVER, approval_level=3, name="马玉兰"),
        sun=make_staff(Role.REVIEWER, review_level=1, name="孙志强"),
        item=item,
        material=material,
        window=WindowFactory(number=1),
    )


@pytest.fixture(autouse=True)
def _fast_password_hashing(settings):
    # PBKDF2's deliberate slowness is for production logins, not for test set-up.
    settings.PASSWORD_HASHERS = ["django.contrib.auth.hashers.MD5PasswordHasher"]


CHROMIUM = "/usr/bin/chromium"
ARTIFACTS = Path(__file__).resolve().parent.parent / "test-artifacts"


# The call display's browser flags, as README's "The call display" gives them: sound
# without a tap, full screen.
DISPLAY_FLAGS = ["--autoplay-policy=no-user-gesture-required", "--kiosk"]


def _chromium(monkeypatch, extra_args=()):
    # Playwright's sync API keeps an event loop on this thread; the test's own ORM calls
    # are still plain synchronous code.
    monkeypatch.setenv("DJANGO_ALLOW_ASYNC_UNSAFE", "true")
    if not shutil.which(CHROMIUM):
        pytest.skip("needs Debian's chromium package at /usr/bin/chromium")
    from playwright.sync_api import sync_playwright

    ARTIFACTS.mkdir(exist_ok=True)
    with sync_playwright() as playwright:
        chromium = playwright.chromium.launch(
            executable_path=CHROMIUM,
            args=["--headless", "--no-sandbox", "--disable-gpu", "--disable-background-networking",
                  *extra_args],
        )  # fmt: skip
        yield chromium
        chromium.close()
        # ORM calls made while Playwright's loop runs use their own connection (asgiref's
        # context-local storage): close it here, or the test database cannot be dropped.
        connections.close_all()


@pytest.fixture
def browser(monkeypatch):
    yield from _chromium(monkeypatch)


@pytest.fixture
def simulated_bridge(live_server, settings):
    """The device simulator (devices/bridge/simulator.py) on a free loopback port, for
    pages served by `live_server`; its QR codes verify under the test's demo key."""
    from devices.bridge.server import BridgeServer
    from devices.bridge.simulator import SimulatorDriver

    settings.ESSC_DEMO_KEY = "journey-key"
    settings.ESSC_QR_VERIFIER = "devices.essc.SimulatorQrVerifier"
    server = BridgeServer(SimulatorDriver(qr_key="journey-key"), origins=[live_server.url])
    port = server.start_in_thread(port=0)
    settings.DEVICE_BRIDGE_URL = f"ws://127.0.0.1:{port}"
    yield server
    server.stop_thread()


@pytest.fixture
def display_browser(monkeypatch):
    """Chromium started as README says for the hall's call display."""
    yield from _chromium(monkeypatch, DISPLAY_FLAGS)


@pytest.fixture
def time_passes(monkeypatch):
    """`time_passes(seconds=61)`: every service sees the clock that much later (e.g. a
    clerk waiting for a called citizen before a no-show)."""
    import datetime

    from django.utils import timezone

    real_now = timezone.now
    offset = datetime.timedelta()

    def advance(**delta):
        nonlocal offset
        offset += datetime.timedelta(**delta)

    monkeypatch.setattr(timezone, "now", lambda: real_now() + offset)
    return advance


@pytest.fixture(autouse=True)
def _seeds_not_yet_seen(monkeypatch):
    """Each test starts as a fresh process would: its database may hold no seeds yet
    (transactional tests empty every table), so daily_seeds_ensure asks again, and a
    seed remembered from an earlier test's database is not used."""
    import draws.selectors
    import draws.services

    monkeypatch.setattr(draws.services, "_seeds_seen_for", None)
    monkeypatch.setattr(draws.selectors, "_seeds_stored", {})


@pytest.fixture(autouse=True)
def _hall_always_open(settings):
    """Tests issue tickets at whatever hour they run; the opening hours' own tests turn
    HALL_HOURS_ENFORCED back on with a fixed clock."""
    settings.HALL_HOURS_ENFORCED = False


@pytest.fixture(autouse=True)
def _isolated_cache_and_media(settings, tmp_path):
    """Rate-limit counters, uploaded scans, exported audit heads and draw commitments never
    leak from one test into another (nor into the checkout's var/, which verify_audit_log
    reads)."""
    from tests.factories import default_cache_forget

    default_cache_forget()
    settings.MEDIA_ROOT = tmp_path / "media"
    settings.VAR_DIR = tmp_path / "var"
    settings.DRAW_COMMITMENT_DIR = tmp_path / "draw-commitments"
    yield
    default_cache_forget()  # a test that put the default cache in Redis still has it here


@pytest.fixture
def register_device(db):
    """Make a test client count as a registered kiosk, display or (with its window) pad."""
    from devices.decorators import DEVICE_COOKIE
    from tests.factories import registered_device

    def register(client, kind="kiosk", window=None):
        device, credential = registered_device(kind, window)
        client.cookies[DEVICE_COOKIE] = credential
        return device

    return register


def browser_sign_in(browser, live_server, user, viewport=(1440, 900)):
    """Sign in through the real form; a role that needs a second factor enrols the
    authenticator from the page and types its current code, as a person would."""
    from tests.factories import totp_code

    page = browser.new_page(viewport={"width": viewport[0], "height": viewport[1]})
    page.goto(f"{live_server.url}/login/")
    page.fill("#id_username", user.username)
    page.fill("#id_password", "Demo-pass-123")
    page.click("form button.btn-primary")
    page.wait_for_load_state("load")
    if "/account/two-factor/" in page.url:
        page.fill("#id_code", totp_code(user))
        page.click("form button.btn-primary")
        page.wait_for_load_state("load")
    return page


def browser_polls_answered(caplog, page, view, count):
    """The statuses of the first `count` polls of `view` from now on (waiting for them,
    15 s at most)."""
    start = len(caplog.records)
    for _ in range(60):
        answered = [
            record.status
            for record in caplog.records[start:]
            if record.name == "langzhong.request" and getattr(record, "view", "") == view
        ]
        if len(answered) >= count:
            return answered[:count]
        page.wait_for_timeout(250)
    return answered


def browser_clerk_ready(browser, live_server, hall):
    """li_na signed in at the browser workbench, signed on at window 1 and ready (F2)."""
    clerk = browser_sign_in(browser, live_server, hall.li_na)
    clerk.click(f"button[name=window][value='{hall.window.pk}']")
    clerk.wait_for_selector("[data-counter-key=F2]")
    clerk.wait_for_load_state("load")  # the counter keys' handler is a deferred script
    clerk.keyboard.press("F2")
    clerk.wait_for_selector(".state-card.state-ready")
    return clerk


@pytest.fixture
def submitted_case(hall, django_capture_on_commit_callbacks):
    """li_na served a ticket and submitted a complete level-2 case (its first draw done).
    Returns (case, the applicant's full ID number)."""
    from cases import services as case_services
    from counters import services
    from tests.factories import make_id_number

    services.window_sign_on(clerk=hall.li_na, window_id=hall.window.pk)
    services.window_declare_ready(clerk=hall.li_na)
    services.ticket_issue(item=hall.item)
    number = make_id_number()
    with django_capture_on_commit_callbacks(execute=True):
        case = case_services.case_accept(
            clerk=hall.li_na,
            item_id=hall.item.pk,
            applicant_name="王大山",
            id_number=number,
            received_material_ids={hall.material.pk},
        )
    services.ticket_finish(clerk=hall.li_na)
    return case, number
