"""A finding about an auditor (an after-hours sign-in of their own, say) is inspected by
another auditor: nobody closes their own finding."""

import pytest
from django.core.exceptions import PermissionDenied
from django.urls import reverse

from audit.findings import finding_raise
from audit.models import Finding
from inspection.services import finding_inspect
from staff.roles import Role
from tests.factories import make_staff, sign_in

pytestmark = pytest.mark.django_db


def _finding_about(person) -> Finding:
    finding_raise(rule="outside_office_hours", severity="low", key=f"own-{person.pk}",
                  evidence={}, subject=person)  # fmt: skip
    return Finding.objects.get(dedupe_key__contains=f"own-{person.pk}")


def test_an_auditor_cannot_close_a_finding_about_themselves():
    auditor = make_staff(Role.AUDITOR)
    finding = _finding_about(auditor)
    with pytest.raises(PermissionDenied):
        finding_inspect(finding_id=finding.pk, auditor=auditor, result=Finding.Result.NO_ISSUE)
    finding.refresh_from_db()
    assert finding.result == Finding.Result.OPEN


def test_another_auditor_inspects_it():
    auditor, colleague = make_staff(Role.AUDITOR), make_staff(Role.AUDITOR)
    finding = _finding_about(auditor)
    finding_inspect(finding_id=finding.pk, auditor=colleague, result=Finding.Result.NO_ISSUE)
    finding.refresh_from_db()
    assert (finding.result, finding.inspected_by_id) == (Finding.Result.NO_ISSUE, colleague.pk)


def test_the_finding_page_offers_its_subject_no_inspection_form(client):
    auditor = make_staff(Role.AUDITOR)
    finding = _finding_about(auditor)
    sign_in(client, auditor)
    page = client.get(reverse("audit:finding_detail", args=[finding.pk]))
    assert page.status_code == 200 and page.context["may_inspect"] is False
    assert "关于您本人的稽核发现由其他稽核人员复核。" in page.content.decode()
