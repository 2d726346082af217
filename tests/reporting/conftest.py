import pytest

from staff.roles import Role
from tests.factories import ItemFactory, MaterialFactory, make_staff
from tests.reporting.platform import SIGNING_KEY, FakePlatform


@pytest.fixture
def platform():
    """The provincial platforms, played by a local HTTP server."""
    fake = FakePlatform().start()
    yield fake
    fake.stop()


@pytest.fixture
def reporting_http(settings, platform):
    settings.REPORTING_TRANSPORT = "http"
    settings.REPORTING_SENDER_ID = "511381-TEST"
    settings.REPORTING_URLS = {
        "ratings": f"{platform.url}/ratings",
        "cases": f"{platform.url}/cases",
    }
    settings.REPORTING_SIGNING_KEY = SIGNING_KEY
    settings.REPORTING_TIMEOUT_SECONDS = 1
    settings.REPORTING_BACKOFF_SECONDS = 30
    settings.REPORTING_MAX_ATTEMPTS = 4
    return platform


@pytest.fixture
def coded_item(db):
    """A level-0 item (finished on the spot) carrying the province's codes."""
    item = ItemFactory(
        risk_level=0,
        implementation_code="11511381MB0000000W2000701001000",
        business_item_code="11511381MB0000000W200070100100001",
    )
    MaterialFactory(item=item, name="居民身份证")
    return item


@pytest.fixture
def lead(db):
    """gao: the team lead, who sees the reconciliation and resends failed reports."""
    return make_staff(Role.TEAM_LEAD, name="高明")
