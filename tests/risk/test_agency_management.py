"""Who can be drawn in an agency, and by which rules, is decided within it: another
agency's team lead grants no qualification here, and the deployment's policies are the
hosting agency's to change."""

import pytest
from django.core.exceptions import PermissionDenied

from risk.models import Qualification, RiskPolicy
from risk.services import qualification_grant, risk_policy_save
from staff.roles import Role
from tests.factories import make_agency, make_site, make_staff

pytestmark = pytest.mark.django_db


@pytest.fixture
def lead_b():
    hall_b = make_site(agency=make_agency(code="511321"), kind="hall")
    return make_staff(Role.TEAM_LEAD, sites=[hall_b])


def test_another_agency_s_team_lead_grants_no_qualification_here(lead_b):
    reviewer = make_staff(Role.REVIEWER)
    with pytest.raises(PermissionDenied):
        qualification_grant(user=reviewer, kind="review", level=3, reason="借调", granted_by=lead_b)
    assert not Qualification.objects.filter(user=reviewer).exists()


def test_the_agency_s_own_team_lead_grants_a_qualification():
    reviewer = make_staff(Role.REVIEWER)
    qualification_grant(
        user=reviewer,
        kind="review",
        level=3,
        reason="考核合格",
        granted_by=make_staff(Role.TEAM_LEAD),
    )
    assert Qualification.objects.filter(user=reviewer, level=3).exists()


def test_another_agency_s_team_lead_changes_no_policy_of_the_deployment(lead_b):
    policy = RiskPolicy.objects.get(level=2)
    policy.review_scope = "site"
    with pytest.raises(PermissionDenied):
        risk_policy_save(policy=policy, reason="缩小到本网点", actor=lead_b)
    assert RiskPolicy.objects.get(level=2).review_scope != "site"
