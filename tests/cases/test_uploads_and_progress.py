import io

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile
from PIL import Image
from pypdf import PdfWriter

from audit.models import AuditEvent
from counters import services
from counters.models import CaseDocument
from risk import services as risk_services
from tests.factories import make_id_number, sign_in

pytestmark = pytest.mark.django_db

PDF = b"%PDF-1.4\n1 0 obj<<>>endobj\ntrailer<<>>\n%%EOF\n"


def _pdf() -> bytes:
    writer = PdfWriter()
    writer.add_blank_page(100, 100)
    buffer = io.BytesIO()
    writer.write(buffer)
    return buffer.getvalue()


def _png(width=20, height=20) -> bytes:
    buffer = io.BytesIO()
    Image.new("1", (width, height)).save(buffer, format="PNG")
    return buffer.getvalue()


def _intake(client, hall, files):
    sign_in(client, hall.li_na)
    client.post("/counter/sign-on/", {"window": hall.window.pk})
    client.post("/counter/ready/")
    services.ticket_issue(item=hall.item)
    return client.post(
        "/counter/intake/",
        {"item": hall.item.pk, "applicant_name": "王大山", "id_number": make_id_number(),
         "materials": [hall.material.pk], "scans": files},
    )  # fmt: skip


@pytest.mark.parametrize(
    ("name", "content"),
    [
        ("setup.pdf", b"\x7fELF\x02\x01\x01" + b"\0" * 100),
        ("notice.pdf", b"<html><script>alert(1)</script></html>"),
        ("scan.png", b"\x89PNG\r\n\x1a\n" + b"garbage" * 10),
    ],
    ids=["renamed executable", "HTML as .pdf", "broken PNG"],
)
def test_a_disguised_or_broken_upload_is_refused_and_nothing_is_accepted(
    client, hall, name, content
):
    response = _intake(client, hall, [SimpleUploadedFile(name, content, "application/pdf")])
    assert response.status_code == 400
    assert not hall.li_na.window.current_ticket.cases.exists()
    assert not CaseDocument.objects.exists()


def test_an_oversized_upload_is_refused(client, hall, settings):
    settings.UPLOAD_MAX_BYTES = 100_000
    big = SimpleUploadedFile("big.pdf", PDF + b"0" * 200_000, "application/pdf")
    assert _intake(client, hall, [big]).status_code == 400
    assert not CaseDocument.objects.exists()


def test_a_decompression_bomb_is_refused(client, hall, settings):
    settings.UPLOAD_MAX_PIXELS = 1_000_000
    bomb = SimpleUploadedFile("bomb.png", _png(2000, 1000), "image/png")
    assert _intake(client, hall, [bomb]).status_code == 400
    assert not CaseDocument.objects.exists()


def test_scans_are_stored_under_random_names_and_served_only_to_the_chain(
    client, hall, django_capture_on_commit_callbacks
):
    with django_capture_on_commit_callbacks(execute=True):
        response = _intake(
            client, hall,
            [SimpleUploadedFile("身份证.png", _png(), "image/png"),
             SimpleUploadedFile("表.pdf", _pdf(), "application/pdf")],
        )  # fmt: skip
    assert response.status_code == 302
    documents = list(CaseDocument.objects.order_by("pk"))
    assert [d.content_type for d in documents] == ["image/png", "application/pdf"]
    assert "身份证" not in documents[0].file.name
    task = risk_services.review_task_draw(task_id=documents[0].case.tasks.get().pk)

    sign_in(client, task.assignee)
    page = client.get(f"/inbox/tasks/{task.pk}/").content.decode()
    assert f"/files/{documents[0].pk}/" in page
    download = client.get(f"/files/{documents[0].pk}/")
    assert download.status_code == 200
    assert download["Content-Disposition"].startswith("attachment")
    assert download["X-Content-Type-Options"] == "nosniff"
    assert AuditEvent.objects.filter(event_type="personal_data.document_viewed").count() == 1

    sign_in(client, hall.sun)
    assert client.get(f"/files/{documents[0].pk}/").status_code == 404


def test_the_progress_page_needs_the_id_suffix_and_shows_only_masked_data(
    client, hall, django_capture_on_commit_callbacks
):
    number = make_id_number()
    with django_capture_on_commit_callbacks(execute=True):
        _intake(client, hall, [])
    client.logout()
    from counters.models import Case

    case = Case.objects.get()
    wrong = client.get("/progress/", {"case": case.number, "id4": "0000"})
    assert 'data-testid="progress"' not in wrong.content.decode()
    right = client.get("/progress/", {"case": case.number, "id4": case.applicant_id_masked[-4:]})
    page = right.content.decode()
    assert 'data-testid="progress"' in page and case.get_status_display() in page
    assert "王大山" not in page and "王**" in page
    del number


def test_the_progress_page_limits_one_clients_failed_look_ups(client, settings):
    settings.PROGRESS_FAILURES_PER_CLIENT = 10
    for index in range(10):
        client.get("/progress/", {"case": f"2026010100{index:03d}", "id4": "1234"})
    assert client.get("/progress/", {"case": "x", "id4": "1234"}).status_code == 429


def test_the_one_time_notice_lists_exactly_the_missing_materials(client, hall):
    from catalog.models import Material

    extra = Material.objects.create(item=hall.item, name="解除劳动关系证明", is_key=True)
    optional = Material.objects.create(item=hall.item, name="照片", required=False, is_key=False)
    sign_in(client, hall.li_na)
    client.post("/counter/sign-on/", {"window": hall.window.pk})
    client.post("/counter/ready/")
    services.ticket_issue(item=hall.item)
    client.post(
        "/counter/intake/",
        {"item": hall.item.pk, "applicant_name": "王大山", "id_number": make_id_number(),
         "materials": [hall.material.pk]},
    )  # fmt: skip
    from counters.models import Case

    case = Case.objects.get()
    assert case.status == Case.Status.NOTIFIED
    page = client.get(f"/counter/cases/{case.pk}/receipt/").content.decode()
    listed = page.split('data-testid="missing-materials">')[1].split("</ol>")[0]
    assert extra.name in listed and hall.material.name not in listed and optional.name not in listed
    assert "<svg" in page


def test_a_receipt_shows_the_promised_date_and_the_first_contact_clerks_number_to_any_clerk(
    client, hall, django_capture_on_commit_callbacks
):
    with django_capture_on_commit_callbacks(execute=True):
        _intake(client, hall, [])
    from counters.models import Case

    case = Case.objects.get()
    page = client.get(f"/counter/cases/{case.pk}/receipt/").content.decode()
    assert case.due_date.isoformat() in page
    assert hall.li_na.staff_profile.employee_number in page
    from staff.roles import Role
    from tests.factories import make_staff

    other = make_staff(Role.CLERK)
    client.force_login(other)
    reprint = client.get(f"/counter/cases/{case.pk}/receipt/").content.decode()
    assert hall.li_na.staff_profile.employee_number in reprint
    assert other.staff_profile.employee_number in reprint  # printed by
    client.force_login(make_staff(Role.REVIEWER, review_level=3))
    assert client.get(f"/counter/cases/{case.pk}/receipt/").status_code == 403
