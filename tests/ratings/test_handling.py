"""差评核实整改 and 申诉 over HTTP: a bad rating is assigned, called back, rectified and
replied to, and reviewed by the team lead; the rated clerk may appeal the rating and the
citizen the handling, each decided with reasons by someone not involved."""

import pytest
from django.core.exceptions import ValidationError

from audit.models import AuditEvent
from counters import services
from ratings import services as rating_services
from ratings.models import Appeal, FollowUp
from staff.roles import Role
from tests.factories import make_staff, sign_in

pytestmark = pytest.mark.django_db

FS, AS = FollowUp.Status, Appeal.Status


@pytest.fixture
def people(hall):
    """- lead: the team lead, who assigns and reviews.
    - wang: a window lead, who verifies and rectifies what is assigned to him.
    - qian: an auditor, who decides appeals.
    - li_na (hall): the clerk whose service was rated badly."""
    from types import SimpleNamespace

    return SimpleNamespace(
        lead=make_staff(Role.TEAM_LEAD, name="赵队长"),
        wang=make_staff(Role.WINDOW_LEAD, name="王窗口"),
        qian=make_staff(Role.AUDITOR, name="钱稽核"),
        li_na=hall.li_na,
    )


@pytest.fixture
def bad_rating(hall):
    services.window_sign_on(clerk=hall.li_na, window_id=hall.window.pk)
    services.window_declare_ready(clerk=hall.li_na)
    ticket = services.ticket_issue(item=hall.item)
    services.ticket_finish(clerk=hall.li_na)
    rating = rating_services.rating_submit(
        ticket_id=ticket.pk, level=1, reason="态度生硬", window=hall.window
    )
    return rating.follow_up


def _post(client, person, url, data):
    client.logout()
    sign_in(client, person)
    return client.post(url, data)


def _kinds(obj) -> list[str]:
    return list(
        AuditEvent.objects.filter(object_id=str(obj.pk), object_type=obj._meta.label_lower)
        .order_by("pk")
        .values_list("event_type", flat=True)
    )


def test_a_bad_rating_is_assigned_called_back_replied_and_closed_on_review(
    client, people, bad_rating
):
    url, fid = "/lead/follow-ups/", bad_rating.pk
    assert (
        _post(
            client,
            people.lead,
            url,
            {"follow_up": fid, "action": "assign", "assignee": people.wang.pk},
        ).status_code
        == 302
    )
    assert _post(client, people.wang, url, {"follow_up": fid, "callback_note": "已回访核实"})
    bad_rating.refresh_from_db()
    assert bad_rating.status == FS.VERIFIED
    _post(client, people.wang, url, {"follow_up": fid, "reply": "已整改：增设引导员"})
    bad_rating.refresh_from_db()
    assert bad_rating.status == FS.REPLIED and bad_rating.handled_by == people.wang
    _post(client, people.lead, url, {"follow_up": fid, "action": "accept", "note": ""})
    bad_rating.refresh_from_db()
    assert (bad_rating.status, bad_rating.reviewed_by) == (FS.CLOSED, people.lead)
    assert _kinds(bad_rating) == [
        "follow_up.opened",
        "follow_up.assigned",
        "follow_up.called_back",
        "follow_up.replied",
        "follow_up.closed",
    ]


def test_the_team_lead_sees_every_unfinished_follow_up_with_its_assignee(
    client, people, bad_rating
):
    sign_in(client, people.lead)
    page = client.get("/lead/follow-ups/").content.decode()
    assert f'data-testid="follow-up-{bad_rating.pk}"' in page and "态度生硬" in page
    rating_services.follow_up_assign(
        follow_up_id=bad_rating.pk, lead=people.lead, assignee_id=people.wang.pk
    )
    assert "王窗口" in client.get("/lead/follow-ups/").content.decode()


def test_the_rated_clerk_is_never_assigned_their_own_bad_rating(client, people, bad_rating):
    people.li_na.groups.add(*make_staff(Role.WINDOW_LEAD).groups.all())
    _post(
        client,
        people.lead,
        "/lead/follow-ups/",
        {"follow_up": bad_rating.pk, "action": "assign", "assignee": people.li_na.pk},
    )
    bad_rating.refresh_from_db()
    assert bad_rating.assignee is None
    assert "follow_up.assigned" not in _kinds(bad_rating)


def test_a_window_lead_sees_and_handles_only_what_is_assigned_to_them(client, people, bad_rating):
    sign_in(client, people.wang)
    assert (
        f'data-testid="follow-up-{bad_rating.pk}"'
        not in client.get("/lead/follow-ups/").content.decode()
    )
    response = client.post("/lead/follow-ups/", {"follow_up": bad_rating.pk, "callback_note": "x"})
    assert response.status_code == 403
    bad_rating.refresh_from_db()
    assert bad_rating.status == FS.OPEN


def test_the_clerk_cannot_open_the_follow_ups(client, people, bad_rating):
    sign_in(client, people.li_na)
    assert client.get("/lead/follow-ups/").status_code == 403


def test_a_reply_before_the_callback_is_refused_and_changes_nothing(client, people, bad_rating):
    _post(client, people.lead, "/lead/follow-ups/", {"follow_up": bad_rating.pk, "reply": "x"})
    bad_rating.refresh_from_db()
    assert (bad_rating.status, bad_rating.reply, bad_rating.replied_at) == (FS.OPEN, "", None)


def test_nobody_reviews_a_handling_they_recorded(client, people, bad_rating):
    url = "/lead/follow-ups/"
    _post(client, people.lead, url, {"follow_up": bad_rating.pk, "callback_note": "已回访"})
    _post(client, people.lead, url, {"follow_up": bad_rating.pk, "reply": "已答复"})
    assert (
        _post(
            client, people.lead, url, {"follow_up": bad_rating.pk, "action": "accept"}
        ).status_code
        == 403
    )
    bad_rating.refresh_from_db()
    assert bad_rating.status == FS.REPLIED


def test_returning_a_handling_needs_a_note_and_sends_it_back_for_rectification(
    client, people, bad_rating
):
    url, fid = "/lead/follow-ups/", bad_rating.pk
    _post(
        client, people.lead, url, {"follow_up": fid, "action": "assign", "assignee": people.wang.pk}
    )
    _post(client, people.wang, url, {"follow_up": fid, "callback_note": "已回访"})
    _post(client, people.wang, url, {"follow_up": fid, "reply": "已答复"})
    _post(client, people.lead, url, {"follow_up": fid, "action": "return", "note": ""})
    bad_rating.refresh_from_db()
    assert bad_rating.status == FS.REPLIED
    _post(client, people.lead, url, {"follow_up": fid, "action": "return", "note": "整改不到位"})
    bad_rating.refresh_from_db()
    assert (bad_rating.status, bad_rating.replied_at) == (FS.VERIFIED, None)
    assert _kinds(bad_rating)[-1] == "follow_up.returned"


# --- the clerk's appeal of a rating ------------------------------------------------------


def test_the_clerk_appeals_and_an_upheld_appeal_annuls_the_follow_up(client, people, bad_rating):
    assert (
        _post(
            client,
            people.li_na,
            "/counter/my-ratings/",
            {"follow_up": bad_rating.pk, "statement": "该群众未办理业务即评价"},
        ).status_code
        == 302
    )
    appeal = Appeal.objects.get()
    assert (appeal.kind, appeal.appellant, appeal.status) == ("rating", people.li_na, AS.PENDING)
    _post(
        client,
        people.qian,
        "/lead/appeals/",
        {"appeal": appeal.pk, "decision": "uphold", "reason": "监控显示为误评"},
    )
    appeal.refresh_from_db()
    bad_rating.refresh_from_db()
    assert (appeal.status, appeal.decided_by) == (AS.UPHELD, people.qian)
    assert bad_rating.status == FS.ANNULLED
    assert _kinds(appeal) == ["appeal.filed", "appeal.upheld"]
    assert _kinds(bad_rating)[-1] == "follow_up.annulled"


def test_a_dismissed_appeal_leaves_the_handling_running(client, people, bad_rating):
    appeal = rating_services.rating_appeal_file(
        follow_up_id=bad_rating.pk, clerk=people.li_na, statement="不实"
    )
    _post(
        client,
        people.lead,
        "/lead/appeals/",
        {"appeal": appeal.pk, "decision": "dismiss", "reason": "回访核实属实"},
    )
    appeal.refresh_from_db()
    bad_rating.refresh_from_db()
    assert (appeal.status, bad_rating.status) == (AS.DISMISSED, FS.OPEN)


def test_a_clerk_cannot_reach_the_appeal_decisions(client, people, bad_rating):
    rating_services.rating_appeal_file(
        follow_up_id=bad_rating.pk, clerk=people.li_na, statement="不实"
    )
    sign_in(client, people.li_na)
    assert client.get("/lead/appeals/").status_code == 403


def test_a_team_lead_rated_as_a_clerk_cannot_decide_their_own_appeal(client, people, bad_rating):
    people.li_na.groups.add(*people.lead.groups.all())
    appeal = rating_services.rating_appeal_file(
        follow_up_id=bad_rating.pk, clerk=people.li_na, statement="不实"
    )
    sign_in(client, people.li_na)
    assert f'data-testid="appeal-{appeal.pk}"' not in client.get("/lead/appeals/").content.decode()
    response = client.post(
        "/lead/appeals/", {"appeal": appeal.pk, "decision": "uphold", "reason": "自己认为不实"}
    )
    assert response.status_code == 403
    appeal.refresh_from_db()
    assert appeal.status == AS.PENDING


def test_only_the_rated_clerk_may_appeal_a_rating(client, people, bad_rating):
    other = make_staff(Role.CLERK)
    assert (
        _post(
            client, other, "/counter/my-ratings/", {"follow_up": bad_rating.pk, "statement": "x"}
        ).status_code
        == 403
    )
    assert not Appeal.objects.exists()


def test_an_appeal_after_its_time_limit_is_refused(people, bad_rating, time_passes):
    time_passes(days=30)
    with pytest.raises(ValidationError):
        rating_services.rating_appeal_file(
            follow_up_id=bad_rating.pk, clerk=people.li_na, statement="不实"
        )
    assert not Appeal.objects.exists()


def test_a_decision_needs_reasons_and_cannot_be_taken_twice(client, people, bad_rating):
    appeal = rating_services.rating_appeal_file(
        follow_up_id=bad_rating.pk, clerk=people.li_na, statement="不实"
    )
    _post(client, people.qian, "/lead/appeals/", {"appeal": appeal.pk, "decision": "uphold"})
    appeal.refresh_from_db()
    assert appeal.status == AS.PENDING
    rating_services.appeal_decide(
        appeal_id=appeal.pk, decider=people.qian, uphold=False, reason="属实"
    )
    with pytest.raises(ValidationError):
        rating_services.appeal_decide(
            appeal_id=appeal.pk, decider=people.lead, uphold=True, reason="改判"
        )
    appeal.refresh_from_db()
    assert (appeal.status, appeal.decided_by) == (AS.DISMISSED, people.qian)


def test_the_review_waits_for_a_pending_appeal(people, bad_rating):
    rating_services.follow_up_record(
        follow_up_id=bad_rating.pk, lead=people.lead, callback_note="已回访"
    )
    rating_services.follow_up_record(follow_up_id=bad_rating.pk, lead=people.lead, reply="已答复")
    rating_services.rating_appeal_file(
        follow_up_id=bad_rating.pk, clerk=people.li_na, statement="不实"
    )
    second_lead = make_staff(Role.TEAM_LEAD)
    with pytest.raises(ValidationError):
        rating_services.follow_up_review(follow_up_id=bad_rating.pk, lead=second_lead, accept=True)
    bad_rating.refresh_from_db()
    assert bad_rating.status == FS.REPLIED


def test_the_clerks_page_shows_no_ticket_case_or_citizen(client, people, submitted_case, hall):
    case, number = submitted_case
    rating = rating_services.rating_submit(
        ticket_id=case.ticket_id, level=2, reason="等候太久", window=hall.window
    )
    sign_in(client, people.li_na)
    page = client.get("/counter/my-ratings/").content.decode()
    assert "等候太久" in page
    for secret in (case.ticket.display_number, case.number, case.applicant_name, number[-4:]):
        assert secret not in page
    assert rating.follow_up.pk


# --- the citizen: completion rating and appeal of the handling ---------------------------


def _reject(case):
    from inbox import services as inbox_services
    from risk.models import ReviewTask

    task = ReviewTask.objects.get(case=case, status=ReviewTask.Status.OPEN)
    inbox_services.review_task_decide(
        task_id=task.pk, actor=task.assignee, decision="reject", comment="不符合条件"
    )


def test_the_citizen_rates_a_case_at_completion_once(client, submitted_case):
    case, _number = submitted_case
    page = f"/t/{case.ticket.public_token}/"
    form = {"action": "rate_completion", "case": case.pk, "level": 4}
    assert client.post(page, form).status_code == 400, "still under review"
    _reject(case)
    assert 'data-testid="rate-completion"' in client.get(page).content.decode()
    assert client.post(page, form).status_code == 302
    rating = case.ticket.ratings.get(stage="completion")
    assert (rating.case, rating.clerk, rating.level) == (case, case.handler, 4)
    assert client.post(page, form).status_code == 400
    assert 'data-testid="rate-completion"' not in client.get(page).content.decode()


def test_another_tickets_case_cannot_be_rated_from_this_page(client, submitted_case, hall):
    case, _number = submitted_case
    _reject(case)
    services.window_declare_ready(clerk=hall.li_na)
    other = services.ticket_issue(item=hall.item)
    services.ticket_finish(clerk=hall.li_na)
    form = {"action": "rate_completion", "case": case.pk, "level": 5}
    assert client.post(f"/t/{other.public_token}/", form).status_code == 404
    assert not case.ticket.ratings.exists()


def test_the_citizen_appeals_the_handling_and_an_upheld_appeal_reopens_it(
    client, people, bad_rating, time_passes
):
    rating_services.follow_up_record(
        follow_up_id=bad_rating.pk, lead=people.lead, callback_note="已回访"
    )
    page = f"/t/{bad_rating.rating.ticket.public_token}/"
    form = {"action": "appeal_handling", "follow_up": bad_rating.pk, "statement": "答复未解决问题"}
    assert client.post(page, form).status_code == 400, "no reply yet"
    rating_services.follow_up_record(follow_up_id=bad_rating.pk, lead=people.lead, reply="已答复")
    second_lead = make_staff(Role.TEAM_LEAD)
    rating_services.follow_up_review(follow_up_id=bad_rating.pk, lead=second_lead, accept=True)
    assert "已答复" in client.get(page).content.decode()
    assert client.post(page, form).status_code == 302
    appeal = Appeal.objects.get()
    assert (appeal.kind, appeal.appellant) == ("handling", None)
    # The handler and the reviewer of the handling are involved: the auditor decides.
    for involved in (people.lead, second_lead):
        assert (
            _post(
                client,
                involved,
                "/lead/appeals/",
                {"appeal": appeal.pk, "decision": "uphold", "reason": "x"},
            ).status_code
            == 403
        )
    time_passes(days=3)
    _post(
        client,
        people.qian,
        "/lead/appeals/",
        {"appeal": appeal.pk, "decision": "uphold", "reason": "答复未针对诉求"},
    )
    bad_rating.refresh_from_db()
    assert (bad_rating.status, bad_rating.replied_at) == (FS.VERIFIED, None)
    assert _kinds(bad_rating)[-1] == "follow_up.reopened"
    client.logout()
    page_html = client.get(page).content.decode()
    assert "答复未针对诉求" in page_html and "appeal_handling" not in page_html
