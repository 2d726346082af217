"""The archive's printable summary.html is complete and in the hall's language (zh-hans by
default), whoever exports it and in whatever language their screen is."""

import io
import re
import zipfile

import pytest
from django.test import override_settings

from inbox.services import review_task_decide
from risk.models import ReviewTask
from staff.roles import Role
from tests.factories import make_staff, sign_in

pytestmark = pytest.mark.django_db


@pytest.fixture
def decided_case(hall, submitted_case, django_capture_on_commit_callbacks):
    """The level-2 case, reviewed by whoever was drawn (approved): at its approval step."""
    case, _number = submitted_case
    task = ReviewTask.objects.get(case=case, status="open")
    with django_capture_on_commit_callbacks(execute=True):
        review_task_decide(task_id=task.pk, actor=task.assignee, decision="approve")
    case.refresh_from_db()
    return case


def _summary(client, case, *, language: str | None = None) -> str:
    sign_in(client, make_staff(Role.AUDITOR))
    if language:
        client.cookies["django_language"] = language
    response = client.get(f"/audit/cases/{case.pk}/archive.zip")
    assert response.status_code == 200
    return zipfile.ZipFile(io.BytesIO(response.content)).read("summary.html").decode()


def _field(html: str, name: str) -> str:
    match = re.search(rf'data-field="{name}">(.*?)</td>', html, re.S)
    assert match, name
    return match.group(1).strip()


def test_the_archive_summary_names_the_applicant_status_and_retention(client, decided_case):
    html = _summary(client, decided_case)
    assert _field(html, "applicant") == f"王大山 {decided_case.applicant_id_masked}"
    assert _field(html, "status") == "审核中"
    assert _field(html, "retention") == decided_case.item.get_retention_display() != ""
    assert _field(html, "handler") == decided_case.handler.staff_profile.employee_number
    assert _field(html, "chain") == "综合柜员 → 审核 → 审批"


def test_the_archive_summary_reads_each_step_in_chinese(client, decided_case):
    html = _summary(client, decided_case)
    assert "第 1 轮第 1 步：审核" in html and "已通过" in html
    assert "review" not in html and "approved" not in html


def test_the_archive_summary_is_in_the_halls_language_whoever_exports_it(client, decided_case):
    html = _summary(client, decided_case, language="en")
    assert '<html lang="zh-hans">' in html and "审核中" in html


@override_settings(LANGUAGE_CODE="en")
def test_the_archive_summary_follows_the_configured_hall_language(client, decided_case):
    html = _summary(client, decided_case)
    assert _field(html, "status") == "Under review"
    assert "Round 1, step 1: Review" in html
