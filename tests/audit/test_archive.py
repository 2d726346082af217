import hashlib
import io
import json
import zipfile

import pytest

from audit.models import AuditEvent
from cases import services as case_services
from counters import services
from scans import services as scan_services
from staff.roles import Role
from tests.factories import make_id_number, make_staff, sign_in

pytestmark = pytest.mark.django_db

PDF = b"%PDF-1.4\n1 0 obj<<>>endobj\ntrailer<<>>\n%%EOF\n"


def test_a_case_archive_manifest_matches_its_files_byte_for_byte(
    client, hall, django_capture_on_commit_callbacks
):
    services.window_sign_on(clerk=hall.li_na, window_id=hall.window.pk)
    services.window_declare_ready(clerk=hall.li_na)
    services.ticket_issue(item=hall.item)
    scan = scan_services.VettedScan(
        material_id=hall.material.pk, content=PDF, content_type="application/pdf"
    )
    id_number = make_id_number()
    with django_capture_on_commit_callbacks(execute=True):
        case = case_services.case_accept(
            clerk=hall.li_na,
            item_id=hall.item.pk,
            applicant_name="王大山",
            id_number=id_number,
            received_material_ids={hall.material.pk},
            scans=[scan],
        )
    document = case.documents.get()
    assert document.file.name.startswith(f"scans/{hashlib.sha256(PDF).hexdigest()}")

    sign_in(client, hall.li_na)
    assert client.get(f"/audit/cases/{case.pk}/archive.zip").status_code == 403
    client.force_login(make_staff(Role.AUDITOR))
    response = client.get(f"/audit/cases/{case.pk}/archive.zip")
    assert response["Content-Disposition"].startswith("attachment")
    archive = zipfile.ZipFile(io.BytesIO(response.content))
    manifest = json.loads(archive.read("manifest.json"))
    assert {entry["path"] for entry in manifest["files"]} >= {"case.json", "summary.html"}
    for entry in manifest["files"]:
        data = archive.read(entry["path"])
        assert hashlib.sha256(data).hexdigest() == entry["sha256"] and len(data) == entry["size"]
    assert archive.read(f"scans/材料1-{hall.material.name}.pdf") == PDF
    record = json.loads(archive.read("case.json"))
    assert record["case"]["number"] == case.number and record["case"]["retention"]
    assert id_number not in archive.read("case.json").decode(), "the archive carries it masked"
    assert AuditEvent.objects.filter(event_type="personal_data.archive_exported").count() == 1


def test_revealing_a_full_id_number_needs_a_reason_and_is_logged(client, hall, submitted_case):
    case, id_number = submitted_case
    sign_in(client, hall.li_na)
    page = client.get(f"/counter/cases/{case.pk}/").content.decode()
    assert id_number not in page and case.applicant_id_masked in page
    assert client.post(f"/cases/{case.pk}/reveal-id/", {"reason": ""}).status_code == 400
    shown = client.post(f"/cases/{case.pk}/reveal-id/", {"reason": "核对户籍信息"})
    assert id_number in shown.content.decode()
    event = AuditEvent.objects.get(event_type="personal_data.id_revealed")
    assert (event.actor, event.data["reason"]) == (hall.li_na, "核对户籍信息")
    sign_in(client, hall.zhou)
    assert client.post(f"/cases/{case.pk}/reveal-id/", {"reason": "想看"}).status_code == 403
