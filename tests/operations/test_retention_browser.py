"""The two-person destruction of a case file past retention, end to end in Debian's
chromium: the team lead proposes with a reason, an auditor approves with a reason, the
history shows the tombstone's manifest hash; each screen passes axe with one h1."""

import pytest
from django.core.files.storage import default_storage

from counters.models import Case
from operations.models import CaseTombstone, DestructionDecision
from staff.roles import Role
from tests.conftest import ARTIFACTS
from tests.factories import make_staff
from tests.operations.test_retention import accepted_case
from tests.test_accessibility import _signed_in, check_screen

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]


def test_the_team_lead_and_an_auditor_destroy_a_case_file_past_retention_together(
    browser, live_server, hall, settings
):
    case = accepted_case(hall, settings, closed_year=2010)
    scan = case.documents.get().file.name
    lead = make_staff(Role.TEAM_LEAD, name="赵组长")
    auditor = make_staff(Role.AUDITOR, name="孙稽核")

    page = _signed_in(browser, live_server, lead)
    page.goto(f"{live_server.url}/retention/")
    assert check_screen(page, "retention-due") == []
    assert case.number in page.inner_text("[data-testid=due]")
    page.fill(f"#propose-{case.pk}", "保管期限已满，经核对可销毁")
    page.click(f"[data-testid=due] form[action$='/cases/{case.pk}/propose/'] button")
    page.wait_for_load_state("load")
    pending = page.inner_text("[data-testid=pending]")
    assert case.number in pending and "保管期限已满" in pending
    # The proposer is offered no approval of their own proposal, only its withdrawal.
    assert page.locator("[data-testid=pending] form[action$='/approve/']").count() == 0
    assert page.locator("[data-testid=pending] form[action$='/withdraw/']").count() == 1
    page.screenshot(path=ARTIFACTS / "retention-proposed.png", full_page=True)
    assert Case.objects.get(pk=case.pk).applicant_name == "王大山"
    page.close()

    page = _signed_in(browser, live_server, auditor)
    page.goto(f"{live_server.url}/retention/")
    decision = DestructionDecision.objects.get()
    assert check_screen(page, "retention-pending") == []
    page.fill(f"#decide-{decision.pk}", "已核对电子档案与期限，同意销毁")
    page.click(f"form[action$='/decisions/{decision.pk}/approve/'] button.btn-danger")
    page.wait_for_load_state("load")
    assert page.locator("[data-testid=pending]").count() == 0
    page.goto(f"{live_server.url}/retention/history/")
    assert check_screen(page, "retention-history") == []
    tombstone = CaseTombstone.objects.get(case_id=case.pk)
    history = page.inner_text("[data-testid=history]")
    assert case.number in history and tombstone.manifest_sha256 in history
    page.screenshot(path=ARTIFACTS / "retention-history.png", full_page=True)
    page.close()

    destroyed = Case.objects.get(pk=case.pk)
    assert destroyed.applicant_name == "" and destroyed.applicant_id_encrypted == ""
    assert destroyed.applicant_phone == ""
    assert not default_storage.exists(scan)
    assert DestructionDecision.objects.get().decided_by == auditor
