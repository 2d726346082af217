"""Archive retention (issue 18 item 5): case files past their item's retention are listed
monthly and destroyed only by two people with different roles (the team lead and an
auditor), each giving a reason; a tombstone keeps the e-archive manifest's SHA-256."""

import datetime
import hashlib

import pytest
from django.core.exceptions import ValidationError
from django.core.files.storage import default_storage
from django.urls import reverse
from django.utils import timezone, translation
from django.utils.translation import gettext as _

from audit.bulk import bulk_writes_allowed
from audit.findings import finding_raise
from audit.models import AuditEvent
from cases import services as case_services
from counters import services
from counters.models import Case, CaseDocument
from langzhong_si.celery import app as celery_app
from operations import events
from operations.models import CaseTombstone, DestructionDecision
from operations.selectors import retention_due_cases, retention_end
from operations.services import (
    DestructionRefused,
    destruction_approve,
    destruction_decline,
    destruction_propose,
    destruction_withdraw,
)
from scans import services as scan_services
from scans.services import VettedScan
from staff.roles import Role
from tests.factories import ItemFactory, MaterialFactory, make_id_number, make_staff, sign_in

pytestmark = pytest.mark.django_db


@pytest.fixture
def people():
    """lead: the team lead; auditor: the 稽核 auditor; lead2: a second team lead."""
    from types import SimpleNamespace

    return SimpleNamespace(
        lead=make_staff(Role.TEAM_LEAD, name="赵组长"),
        lead2=make_staff(Role.TEAM_LEAD, name="钱组长"),
        auditor=make_staff(Role.AUDITOR, name="孙稽核"),
    )


def accepted_case(hall, settings, *, closed_year: int, retention: str = "10y") -> Case:
    """A level-0 case with one scan and a phone number, finished on the spot, and then
    dated as closed in `closed_year`."""
    settings.AUDIT_SAMPLE_RATES = [0, 0, 0, 0]
    item = ItemFactory(risk_level=0, retention=retention)
    material = MaterialFactory(item=item, name="居民身份证")
    services.window_sign_on(clerk=hall.li_na, window_id=hall.window.pk)
    services.window_declare_ready(clerk=hall.li_na)
    services.ticket_issue(item=item)
    case = case_services.case_accept(
        clerk=hall.li_na, item_id=item.pk, applicant_name="王大山", id_number=make_id_number(),
        received_material_ids={material.pk}, applicant_phone="13800138000",
        scans=[VettedScan(material.pk, b"%PDF-1.4 old scan", "application/pdf")],
    )  # fmt: skip
    services.ticket_finish(clerk=hall.li_na)
    services.window_sign_off(clerk=hall.li_na)
    closed = timezone.make_aware(datetime.datetime(closed_year, 6, 1, 10))  # noqa: DTZ001
    with bulk_writes_allowed():
        Case.objects.filter(pk=case.pk).update(accepted_at=closed, finished_at=closed)
    return Case.objects.select_related("item").get(pk=case.pk)


@pytest.fixture
def old_case(hall, settings):
    return accepted_case(hall, settings, closed_year=2010)


def test_retention_runs_out_on_1_january_after_the_closing_year_plus_the_period(old_case):
    assert retention_end(old_case) == datetime.date(2021, 1, 1)


def test_a_case_past_retention_is_listed_and_a_younger_or_permanent_one_is_not(
    hall, settings, old_case
):
    young = accepted_case(hall, settings, closed_year=timezone.localdate().year - 2)
    permanent = accepted_case(hall, settings, closed_year=1990, retention="permanent")
    due = list(retention_due_cases())
    assert old_case in due
    assert young not in due and permanent not in due


def test_the_monthly_job_lists_the_due_cases_in_an_audit_event_and_destroys_nothing(
    old_case, people
):
    celery_app.tasks["operations.tasks.retention_review_monthly"].apply()
    event = AuditEvent.objects.get(event_type=events.RETENTION_REVIEWED)
    assert event.data["cases"] == [old_case.number]
    assert people.lead.notifications.exists()
    old_case.refresh_from_db()
    assert old_case.applicant_name == "王大山"
    assert not CaseTombstone.objects.exists()


def test_a_proposal_alone_destroys_nothing(old_case, people):
    decision = destruction_propose(case_id=old_case.pk, proposer=people.lead, reason="期满")
    assert decision.status == DestructionDecision.Status.PROPOSED
    old_case.refresh_from_db()
    assert old_case.applicant_name == "王大山" and old_case.applicant_id_encrypted
    assert AuditEvent.objects.filter(event_type=events.DESTRUCTION_PROPOSED).count() == 1


def test_the_auditor_approving_the_leads_proposal_destroys_the_case_file(
    old_case, people, django_capture_on_commit_callbacks
):
    document = old_case.documents.get()
    scan_name = document.file.name
    assert default_storage.exists(scan_name)
    decision = destruction_propose(case_id=old_case.pk, proposer=people.lead, reason="期满")
    with django_capture_on_commit_callbacks(execute=True):
        destruction_approve(decision_id=decision.pk, approver=people.auditor, reason="核对无误")
    old_case.refresh_from_db()
    assert old_case.applicant_name == ""
    assert old_case.applicant_id_encrypted == "" and old_case.applicant_phone == ""
    assert old_case.applicant_id_digest == "" and old_case.applicant_id_masked == ""
    assert not old_case.history.exclude(applicant_name="").exists()
    assert not default_storage.exists(scan_name)
    assert CaseDocument.objects.get(pk=document.pk).file.name == ""
    assert not old_case.sms.exclude(phone="").exists()
    tombstone = CaseTombstone.objects.get(case=old_case)
    assert len(tombstone.manifest_sha256) == 64
    assert any(entry["path"].startswith("scans/") for entry in tombstone.manifest["files"])
    assert old_case.status == Case.Status.FINISHED  # the row, its status and its counts stay
    destroyed = AuditEvent.objects.get(event_type=events.CASE_DESTROYED)
    assert destroyed.data["manifest_sha256"] == tombstone.manifest_sha256
    assert destroyed.actor == people.auditor


def test_the_tombstone_hash_is_the_sha256_of_the_e_archive_manifest(old_case, people):
    import io
    import zipfile

    from inspection.archive import case_archive_zip

    decision = destruction_propose(case_id=old_case.pk, proposer=people.auditor, reason="期满")
    with zipfile.ZipFile(io.BytesIO(case_archive_zip(old_case))) as archive:
        expected = hashlib.sha256(archive.read("manifest.json")).hexdigest()
    destruction_approve(decision_id=decision.pk, approver=people.lead, reason="同意")
    assert CaseTombstone.objects.get(case=old_case).manifest_sha256 == expected


def _refused(code: str, call) -> None:
    with pytest.raises(DestructionRefused) as refused:
        call()
    assert refused.value.error_list[0].code == code
    event = AuditEvent.objects.filter(event_type=events.DESTRUCTION_REFUSED).latest("id")
    assert event.data["code"] == code and event.outcome == AuditEvent.Outcome.FAILURE


def test_the_proposer_cannot_approve_their_own_proposal(old_case, people):
    decision = destruction_propose(case_id=old_case.pk, proposer=people.lead, reason="期满")
    _refused("same_person", lambda: destruction_approve(
        decision_id=decision.pk, approver=people.lead, reason="自己批"))  # fmt: skip
    assert not CaseTombstone.objects.exists()


def test_two_team_leads_cannot_destroy_a_case_file_without_an_auditor(old_case, people):
    decision = destruction_propose(case_id=old_case.pk, proposer=people.lead, reason="期满")
    _refused("same_role", lambda: destruction_approve(
        decision_id=decision.pk, approver=people.lead2, reason="同意"))  # fmt: skip
    assert not CaseTombstone.objects.exists()


def test_a_case_file_still_within_retention_cannot_be_proposed(hall, settings, people):
    young = accepted_case(hall, settings, closed_year=timezone.localdate().year - 2)
    _refused("retention_running", lambda: destruction_propose(
        case_id=young.pk, proposer=people.lead, reason="提前销毁"))  # fmt: skip
    assert not DestructionDecision.objects.exists()


def test_a_permanent_case_file_cannot_be_proposed(hall, settings, people):
    kept = accepted_case(hall, settings, closed_year=1990, retention="permanent")
    _refused("not_destroyable", lambda: destruction_propose(
        case_id=kept.pk, proposer=people.lead, reason="太旧"))  # fmt: skip


def test_a_case_file_under_an_open_finding_cannot_be_proposed(old_case, people):
    finding_raise(rule="sample", severity="low", key=f"t{old_case.pk}", evidence={},
                  case=old_case)  # fmt: skip
    _refused("open_finding", lambda: destruction_propose(
        case_id=old_case.pk, proposer=people.lead, reason="期满"))  # fmt: skip


def test_a_finding_opened_after_the_proposal_stops_the_approval(old_case, people):
    decision = destruction_propose(case_id=old_case.pk, proposer=people.lead, reason="期满")
    finding_raise(rule="sample", severity="low", key=f"t{old_case.pk}", evidence={},
                  case=old_case)  # fmt: skip
    _refused("open_finding", lambda: destruction_approve(
        decision_id=decision.pk, approver=people.auditor, reason="同意"))  # fmt: skip
    old_case.refresh_from_db()
    assert old_case.applicant_name == "王大山"


def test_a_proposal_needs_a_reason(old_case, people):
    _refused("reason_required", lambda: destruction_propose(
        case_id=old_case.pk, proposer=people.lead, reason="   "))  # fmt: skip


def test_a_clerk_takes_no_part_in_a_destruction_decision(old_case, hall):
    _refused("not_a_decider", lambda: destruction_propose(
        case_id=old_case.pk, proposer=hall.li_na, reason="期满"))  # fmt: skip


def test_a_declined_proposal_keeps_the_case_file_and_cannot_then_be_approved(old_case, people):
    decision = destruction_propose(case_id=old_case.pk, proposer=people.lead, reason="期满")
    destruction_decline(decision_id=decision.pk, decider=people.auditor, reason="仍有争议")
    assert DestructionDecision.objects.get().status == DestructionDecision.Status.DECLINED
    with pytest.raises(ValidationError):
        destruction_approve(decision_id=decision.pk, approver=people.auditor, reason="改主意")
    old_case.refresh_from_db()
    assert old_case.applicant_name == "王大山"


def test_the_proposer_withdraws_their_proposal_and_the_case_file_is_kept(old_case, people):
    decision = destruction_propose(case_id=old_case.pk, proposer=people.lead, reason="期满")
    destruction_withdraw(decision_id=decision.pk, proposer=people.lead, reason="需再核对")
    decision.refresh_from_db()
    assert decision.status == DestructionDecision.Status.WITHDRAWN
    assert decision.decision_reason == "需再核对" and decision.decided_by is None
    event = AuditEvent.objects.get(event_type=events.DESTRUCTION_WITHDRAWN)
    assert event.actor == people.lead and event.data["reason"] == "需再核对"
    old_case.refresh_from_db()
    assert old_case.applicant_name == "王大山"
    assert old_case in retention_due_cases()  # it may be proposed again


def test_nobody_but_the_proposer_can_withdraw_a_proposal(old_case, people):
    decision = destruction_propose(case_id=old_case.pk, proposer=people.lead, reason="期满")
    for other in (people.auditor, people.lead2):
        _refused("not_the_proposer", lambda other=other: destruction_withdraw(
            decision_id=decision.pk, proposer=other, reason="撤回"))  # fmt: skip
    decision.refresh_from_db()
    assert decision.status == DestructionDecision.Status.PROPOSED


def test_a_decided_proposal_can_no_longer_be_withdrawn(old_case, people):
    decision = destruction_propose(case_id=old_case.pk, proposer=people.lead, reason="期满")
    destruction_decline(decision_id=decision.pk, decider=people.auditor, reason="仍有争议")
    with pytest.raises(ValidationError):
        destruction_withdraw(decision_id=decision.pk, proposer=people.lead, reason="撤回")
    assert DestructionDecision.objects.get().status == DestructionDecision.Status.DECLINED


def test_the_proposer_withdraws_on_the_screen_and_another_person_is_refused(
    client, old_case, people
):
    decision = destruction_propose(case_id=old_case.pk, proposer=people.lead, reason="期满")
    url = reverse("operations:retention_withdraw", args=[decision.pk])
    sign_in(client, people.auditor)
    refused = client.post(url, {"reason": "替他撤回"}, follow=True)
    with translation.override("zh-hans"):
        expected = _("Only the person who proposed a destruction can withdraw it.")
    assert [str(message) for message in refused.context["messages"]] == [expected]
    assert DestructionDecision.objects.get().status == DestructionDecision.Status.PROPOSED
    sign_in(client, people.lead)
    screen = client.get(reverse("operations:retention_due")).content.decode()
    assert f'action="{url}"' in screen  # the proposer's withdraw button
    response = client.post(url, {"reason": "需再核对"})
    assert response.status_code == 302
    assert DestructionDecision.objects.get().status == DestructionDecision.Status.WITHDRAWN


def test_destroying_a_case_file_clears_its_ratings_comments_and_keeps_their_scores(
    old_case, people
):
    from ratings.models import FollowUp, Rating
    from ratings.services import follow_up_record, rating_submit

    rating = rating_submit(ticket_id=old_case.ticket_id, level=1, reason="王大山说窗口态度差")
    follow_up = FollowUp.objects.get(rating=rating)
    follow_up_record(follow_up_id=follow_up.pk, lead=people.lead, callback_note="已回访王先生")
    decision = destruction_propose(case_id=old_case.pk, proposer=people.lead, reason="期满")
    destruction_approve(decision_id=decision.pk, approver=people.auditor, reason="同意")
    rating = Rating.objects.get(pk=rating.pk)
    assert rating.level == 1  # the score stays for the statistics
    assert "王" not in rating.reason
    follow_up = FollowUp.objects.get(pk=follow_up.pk)
    assert follow_up.callback_note == "" and follow_up.callback_at is not None
    assert not follow_up.history.exclude(callback_note="").exists()


def test_a_destroyed_case_file_cannot_be_proposed_again(old_case, people):
    decision = destruction_propose(case_id=old_case.pk, proposer=people.lead, reason="期满")
    destruction_approve(decision_id=decision.pk, approver=people.auditor, reason="同意")
    _refused("destroyed", lambda: destruction_propose(
        case_id=old_case.pk, proposer=people.lead2, reason="再来"))  # fmt: skip


def test_the_screen_refuses_a_proposal_posted_for_a_case_within_retention(
    client, hall, settings, people
):
    young = accepted_case(hall, settings, closed_year=timezone.localdate().year - 2)
    client.force_login(people.lead)
    response = client.post(
        reverse("operations:retention_propose", args=[young.pk]), {"reason": "提前"}, follow=True
    )
    assert not DestructionDecision.objects.exists()
    assert response.status_code == 200


def test_the_retention_screens_are_closed_to_a_clerk(client, hall):
    client.force_login(hall.li_na)
    assert client.get(reverse("operations:retention_due")).status_code == 403
    assert client.get(reverse("operations:retention_history")).status_code == 403


def test_shortening_an_items_retention_does_not_bring_a_destruction_forward(hall, settings, people):
    case = accepted_case(hall, settings, closed_year=2010, retention="30y")
    item = case.item
    item.retention = "10y"
    item.save()  # an insider's edit of the catalog, after the case was accepted
    case = Case.objects.select_related("item").get(pk=case.pk)
    assert retention_end(case) == datetime.date(2041, 1, 1)
    assert case not in retention_due_cases()
    _refused("retention_running", lambda: destruction_propose(
        case_id=case.pk, proposer=people.lead, reason="期限已改短"))  # fmt: skip


def test_a_destroyed_case_files_e_archive_still_exports_without_its_scans(old_case, people):
    import io
    import zipfile

    from inspection.archive import case_archive_zip

    decision = destruction_propose(case_id=old_case.pk, proposer=people.lead, reason="期满")
    destruction_approve(decision_id=decision.pk, approver=people.auditor, reason="同意")
    with zipfile.ZipFile(io.BytesIO(case_archive_zip(Case.objects.get(pk=old_case.pk)))) as z:
        assert not any(name.startswith("scans/") for name in z.namelist())


def test_a_destroyed_case_files_id_number_cannot_be_revealed(old_case, people):
    decision = destruction_propose(case_id=old_case.pk, proposer=people.lead, reason="期满")
    destruction_approve(decision_id=decision.pk, approver=people.auditor, reason="同意")
    with pytest.raises(ValidationError):
        scan_services.case_id_number_reveal(
            case=Case.objects.get(pk=old_case.pk), viewer=people.auditor, reason="核对身份"
        )


@pytest.mark.django_db(transaction=True)
def test_a_backup_made_after_a_destruction_passes_the_restore_drill(hall, settings, people):
    from django.core.management import call_command

    from backups.bundle import backup_make
    from backups.drill import restore_drill_run

    case = accepted_case(hall, settings, closed_year=2010)
    kept = accepted_case(hall, settings, closed_year=timezone.localdate().year - 1)
    decision = destruction_propose(case_id=case.pk, proposer=people.lead, reason="期满")
    destruction_approve(decision_id=decision.pk, approver=people.auditor, reason="同意")
    call_command("export_audit_head")
    result = restore_drill_run(bundle=backup_make(directory=settings.VAR_DIR / "bk").path)
    assert result.passed, {check.name: check.detail for check in result.failures}
    details = {check.name: check.detail for check in result.checks}
    assert details["scans"] == "1 scans match their SHA-256"  # the kept case's
    assert kept.documents.count() == 1


# --- Another agency's case files: as if they did not exist --------------------------------


@pytest.fixture
def elsewhere():
    """A team lead and an auditor of a neighbouring agency."""
    from types import SimpleNamespace

    from tests.factories import make_agency, make_site

    site = make_site(make_agency())
    return SimpleNamespace(
        lead=make_staff(Role.TEAM_LEAD, name="乙县组长", sites=[site]),
        auditor=make_staff(Role.AUDITOR, name="乙县稽核", sites=[site]),
    )


def test_another_agencys_team_lead_cannot_propose_a_case_file_for_destruction(old_case, elsewhere):
    with pytest.raises(Case.DoesNotExist):
        destruction_propose(case_id=old_case.pk, proposer=elsewhere.lead, reason="到期")
    assert not DestructionDecision.objects.filter(case=old_case).exists()


def test_another_agencys_auditor_cannot_approve_or_decline_a_proposal(old_case, people, elsewhere):
    decision = destruction_propose(case_id=old_case.pk, proposer=people.lead, reason="到期")
    for service, person in ((destruction_approve, "approver"), (destruction_decline, "decider")):
        with pytest.raises(Case.DoesNotExist):
            service(decision_id=decision.pk, reason="同意", **{person: elsewhere.auditor})
    decision.refresh_from_db()
    assert decision.status == DestructionDecision.Status.PROPOSED
    assert not CaseTombstone.objects.filter(case=old_case).exists()


def test_another_agencys_retention_page_lists_none_of_its_case_files(
    client, old_case, people, elsewhere
):
    decision = destruction_propose(case_id=old_case.pk, proposer=people.lead, reason="到期")
    sign_in(client, elsewhere.auditor)
    page = client.get(reverse("operations:retention_due")).content.decode()
    assert old_case.number not in page
    answer = client.post(
        reverse("operations:retention_approve", args=[decision.pk]), {"reason": "同意"}
    )
    assert answer.status_code == 404
    sign_in(client, people.auditor)  # the case's own agency sees it
    assert old_case.number in client.get(reverse("operations:retention_due")).content.decode()


def test_the_due_list_of_another_agency_holds_none_of_its_case_files(old_case, elsewhere):
    assert old_case in retention_due_cases()
    assert old_case not in retention_due_cases(user=elsewhere.lead)


def test_the_monthly_review_tells_each_agency_only_of_its_own_case_files(
    old_case, people, elsewhere
):
    from staff.models import Notification

    celery_app.tasks["operations.tasks.retention_review_monthly"].apply()
    assert Notification.objects.filter(recipient=people.lead).exists()
    others = [elsewhere.lead, elsewhere.auditor]
    assert not Notification.objects.filter(recipient__in=others).exists()
