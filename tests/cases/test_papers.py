"""Issue 19, point 4: the papers the counter prints. A level-0 item finished on the spot
prints its result; a 容缺 case prints a commitment letter; guides and papers give the
hall's address, hours and telephone."""

import pytest

from audit.models import AuditEvent
from counters.models import Case
from staff.roles import Role
from tests.cases.test_any_clerk import _accept
from tests.factories import ItemFactory, MaterialFactory, make_site, make_staff, sign_in

pytestmark = pytest.mark.django_db


def _finished_on_the_spot(hall, capture, *, name, result):
    item = ItemFactory(risk_level=0, promised_days=0, statutory_days=0, name=name, result=result)
    received = {MaterialFactory(item=item, name="居民身份证").pk}
    case = _accept(hall, capture, item=item, received=received)
    assert case.status == Case.Status.FINISHED
    return case


def test_a_case_finished_on_the_spot_prints_a_notice_of_completion(
    client, hall, django_capture_on_commit_callbacks
):
    case = _finished_on_the_spot(
        hall, django_capture_on_commit_callbacks, name="社会保障卡挂失", result="当场办结"
    )
    sign_in(client, hall.li_na)
    page = client.get(f"/counter/cases/{case.pk}/receipt/").content.decode()
    assert 'data-paper="result"' in page and "办结告知书" in page
    assert "当场办结" in page and "受理回执" not in page


def test_an_item_that_issues_a_document_prints_the_record_of_it_with_a_signature_line(
    client, hall, django_capture_on_commit_callbacks
):
    case = _finished_on_the_spot(
        hall, django_capture_on_commit_callbacks, name="个人参保证明查询打印",
        result="当场打印或出具，交申请人",
    )  # fmt: skip
    sign_in(client, hall.li_na)
    page = client.get(f"/counter/cases/{case.pk}/receipt/").content.decode()
    assert "出件单" in page and "个人参保证明查询打印" in page
    assert "申请人签名" in page


def test_a_deferred_case_prints_a_commitment_letter_with_the_promised_materials_and_date(
    client, hall, django_capture_on_commit_callbacks
):
    MaterialFactory(item=hall.item, name="解除劳动关系证明", is_key=False)
    case = _accept(hall, django_capture_on_commit_callbacks, defer=True)
    sign_in(client, hall.li_na)
    page = client.get(f"/counter/cases/{case.pk}/receipt/").content.decode()
    assert "容缺受理承诺书" in page
    promised = page.split('data-testid="promised-materials"')[1].split("</table>")[0]
    assert "解除劳动关系证明" in promised and "居民身份证" not in promised
    assert case.deferred_due.isoformat() in promised
    assert "经办人签名" in page
    assert page.count("申请人签名：") == 1, "one place for the applicant to sign (on the pad)"
    assert 'data-testid="promise-date"' in page, "signed on paper: dated by hand"


def test_a_level_2_case_still_prints_an_acceptance_receipt(client, hall, submitted_case):
    case, _number = submitted_case
    sign_in(client, hall.li_na)
    page = client.get(f"/counter/cases/{case.pk}/receipt/").content.decode()
    assert 'data-paper="receipt"' in page and "受理回执" in page


def test_every_print_and_reprint_is_recorded_with_who_printed_it(client, hall, submitted_case):
    case, _number = submitted_case
    sign_in(client, hall.li_na)
    client.get(f"/counter/cases/{case.pk}/receipt/")
    other = make_staff(Role.CLERK)
    sign_in(client, other)
    client.get(f"/counter/cases/{case.pk}/receipt/")
    # Inside the test's transaction nothing is chained yet (no position): the key is the
    # order the events were written in.
    printed = AuditEvent.objects.filter(event_type="case.paper_printed").order_by("id")
    assert [(e.actor, e.data["paper"]) for e in printed] == [
        (hall.li_na, "receipt"),
        (other, "receipt"),
    ]


def test_papers_and_guides_give_the_halls_address_hours_and_telephone(
    client, hall, submitted_case, settings
):
    settings.HALL_ADDRESS = "阆中市七里大道 1 号"
    settings.HALL_PHONE = "0817-0000000"
    case, _number = submitted_case
    sign_in(client, hall.li_na)
    paper = client.get(f"/counter/cases/{case.pk}/receipt/").content.decode()
    guide = client.get(f"/guides/{hall.item.code}/").content.decode()
    for page in (paper, guide):
        contact = page.split('data-testid="hall-contact"')[1].split("</section>")[0]
        assert "阆中市七里大道 1 号" in contact and "0817-0000000" in contact
        assert "08:30–12:00" in contact and "14:00–17:30" in contact


def test_the_hall_hours_come_from_the_opening_hours_setting_when_there_is_one(settings):
    import datetime

    from langzhong_si.hall import hall_hours_text

    settings.HALL_HOURS = [(datetime.time(9, 0), datetime.time(16, 0))]
    assert "09:00–16:00" in hall_hours_text() and "08:30" not in hall_hours_text()


def _case_at(site, capture):
    """A clerk of `site` serves its next ticket and opens a level-2 case (draw not run)."""
    from cases import services as case_services
    from counters import services
    from tests.factories import WindowFactory, make_id_number

    item = ItemFactory(risk_level=2)
    material = MaterialFactory(item=item, name="居民身份证")
    clerk = make_staff(Role.CLERK, sites=[site])
    window = WindowFactory(number=9, site=site)
    services.window_sign_on(clerk=clerk, window_id=window.pk)
    services.window_declare_ready(clerk=clerk)
    services.ticket_issue(item=item, site_id=site.pk)
    with capture(execute=False):
        case = case_services.case_accept(
            clerk=clerk, item_id=item.pk, applicant_name="王大山", id_number=make_id_number(),
            received_material_ids={material.pk},
        )  # fmt: skip
    return case, clerk


def _part(page: str, testid: str, end: str) -> str:
    return page.split(f'data-testid="{testid}"')[1].split(end)[0]


def test_a_paper_names_the_case_s_own_agency_and_site_and_where_it_serves(
    client, two_agencies, settings, django_capture_on_commit_callbacks
):
    settings.HALL_ADDRESS, settings.HALL_PHONE = "阆中市七里大道 1 号", "0817-0000000"
    hall_b = two_agencies.hall_b
    hall_b.address, hall_b.phone = "顺庆区人民南路 8 号", "0817-2222222"
    hall_b.opening_hours = "周一至周五 09:00–17:00"
    hall_b.save()
    case, clerk = _case_at(hall_b, django_capture_on_commit_callbacks)
    sign_in(client, clerk)
    page = client.get(f"/counter/cases/{case.pk}/receipt/").content.decode()
    issuer = _part(page, "paper-issuer", "</div>")
    assert two_agencies.agency_b.name in issuer and hall_b.name in issuer
    assert "阆中" not in issuer
    contact = _part(page, "hall-contact", "</section>")
    for shown in ("顺庆区人民南路 8 号", "0817-2222222", "周一至周五 09:00–17:00"):
        assert shown in contact
    assert "七里大道" not in contact and "0817-0000000" not in contact


def test_a_station_that_gave_no_address_prints_none_rather_than_the_hall_s(
    client, two_agencies, settings, django_capture_on_commit_callbacks
):
    settings.HALL_ADDRESS, settings.HALL_PHONE = "阆中市七里大道 1 号", "0817-0000000"
    case, clerk = _case_at(two_agencies.station, django_capture_on_commit_callbacks)
    sign_in(client, clerk)
    page = client.get(f"/counter/cases/{case.pk}/receipt/").content.decode()
    assert two_agencies.station.name in _part(page, "paper-issuer", "</div>")
    contact = _part(page, "hall-contact", "</section>")
    assert "七里大道" not in contact and "0817-0000000" not in contact and "—" in contact


def test_another_agency_s_guide_gives_that_agency_s_hall(client, two_agencies, settings):
    settings.HALL_ADDRESS = "阆中市七里大道 1 号"
    hall_b = two_agencies.hall_b
    hall_b.address = "顺庆区人民南路 8 号"
    hall_b.save()
    item = ItemFactory(risk_level=1)
    page = client.get(
        f"/guides/{item.code}/", {"agency": two_agencies.agency_b.code}
    ).content.decode()
    contact = _part(page, "hall-contact", "</section>")
    assert "顺庆区人民南路 8 号" in contact and "七里大道" not in contact


def test_the_citizen_s_progress_and_ticket_pages_are_headed_with_the_case_s_site(
    client, two_agencies, django_capture_on_commit_callbacks
):
    case, _clerk = _case_at(two_agencies.hall_b, django_capture_on_commit_callbacks)
    progress = client.get(
        "/progress/", {"case": case.number, "id4": case.applicant_id_masked[-4:]}
    ).content.decode()
    ticket = client.get(f"/t/{case.ticket.public_token}/").content.decode()
    for page in (progress, ticket):
        brand = _part(page, "brand", "</span>")
        assert two_agencies.hall_b.name in brand and "阆中" not in brand


def _brand(client, person, path) -> str:
    sign_in(client, person)
    return _part(client.get(path).content.decode(), "brand", "</a>")


def test_a_station_clerk_s_screens_are_headed_with_the_station_not_the_home_hall(
    client, two_agencies
):
    clerk = make_staff(Role.CLERK, sites=[two_agencies.station])
    assert "老观镇社保所" in _brand(client, clerk, "/counter/cases/")


def test_a_person_of_several_sites_is_headed_with_their_agency(client, two_agencies):
    station_b = make_site(agency=two_agencies.agency_b, name="中城街道社保所")
    reviewer = make_staff(Role.REVIEWER, sites=[two_agencies.hall_b, station_b])
    assert "南充市顺庆区社会保险事业管理局" in _brand(client, reviewer, "/inbox/")


def test_a_person_of_no_site_and_the_sign_in_page_have_the_hall_s_own_name(client):
    from django.contrib.auth import get_user_model

    from sites.selectors import person_site_name

    assert person_site_name(get_user_model().objects.create_user("keeper")) is None
    page = client.get("/login/").content.decode()
    assert "阆中社保服务大厅" in _part(page, "brand", "</a>")
