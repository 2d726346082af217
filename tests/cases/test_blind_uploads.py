"""Scans are stored blind: no uploaded file name, no scanner or camera metadata, a
neutral name from the materials checklist, and hashes of exactly what is stored."""

import hashlib
import io
import json
import zipfile

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile
from PIL import Image
from pypdf import PdfReader, PdfWriter
from pypdf.generic import NameObject, StreamObject

from catalog.models import Material
from counters import services
from counters.models import CaseDocument
from risk import services as risk_services
from scans.uploads import scan_display_name
from staff.roles import Role
from tests.factories import make_id_number, make_staff, sign_in

pytestmark = pytest.mark.django_db

# What a scanner or phone writes and a reviewer must not learn: the clerk and the workstation.
ORIGINAL_NAME = "李娜-柜台3-扫描.jpg"
SECRETS = (b"Li Na", b"COUNTER-PC-03", b"ScanStation")


def _jpeg_with_exif() -> bytes:
    exif = Image.Exif()
    exif[0x013B] = "Li Na"  # Artist
    exif[0x0131] = "ScanStation COUNTER-PC-03"  # Software
    exif[0x0112] = 6  # Orientation: rotate 90° to stand upright
    buffer = io.BytesIO()
    Image.new("RGB", (40, 30), "white").save(
        buffer,
        "JPEG",
        exif=exif,
        comment=b"operator Li Na",
        xmp=b"<x:xmpmeta><dc:creator>Li Na</dc:creator></x:xmpmeta>",
    )
    return buffer.getvalue()


def _png_with_text() -> bytes:
    from PIL import PngImagePlugin

    info = PngImagePlugin.PngInfo()
    info.add_text("Author", "Li Na")
    info.add_itxt("Software", "ScanStation COUNTER-PC-03")
    buffer = io.BytesIO()
    Image.new("L", (20, 20), 255).save(buffer, "PNG", pnginfo=info)
    return buffer.getvalue()


def _pdf_with_metadata() -> bytes:
    writer = PdfWriter()
    writer.add_blank_page(200, 200)
    writer.add_metadata(
        {"/Author": "Li Na", "/Producer": "ScanStation", "/Creator": "COUNTER-PC-03"}
    )
    xmp = StreamObject()
    xmp.set_data(b"<x:xmpmeta><dc:creator>Li Na</dc:creator></x:xmpmeta>")
    xmp[NameObject("/Type")] = NameObject("/Metadata")
    writer.root_object[NameObject("/Metadata")] = writer._add_object(xmp)
    buffer = io.BytesIO()
    writer.write(buffer)
    return buffer.getvalue()


@pytest.fixture
def termination(hall):
    """A second checklist row, so names carry the material's position."""
    return Material.objects.create(
        item=hall.item, name="解除劳动关系证明", is_key=False, required=False, order=2
    )


def _intake(client, hall, files: dict):
    sign_in(client, hall.li_na)
    client.post("/counter/sign-on/", {"window": hall.window.pk})
    client.post("/counter/ready/")
    services.ticket_issue(item=hall.item)
    return client.post(
        "/counter/intake/",
        {"item": hall.item.pk, "applicant_name": "王大山", "id_number": make_id_number(),
         "materials": [hall.material.pk], **files},
    )  # fmt: skip


@pytest.fixture
def uploaded(client, hall, termination, django_capture_on_commit_callbacks):
    files = {
        f"scan-{hall.material.pk}": [SimpleUploadedFile(ORIGINAL_NAME, _jpeg_with_exif())],
        f"scan-{termination.pk}": [
            SimpleUploadedFile("李娜的扫描.pdf", _pdf_with_metadata()),
            SimpleUploadedFile("第二页.png", _png_with_text()),
        ],
        "scans": [SimpleUploadedFile("柜员李娜补充.pdf", _pdf_with_metadata())],
    }
    with django_capture_on_commit_callbacks(execute=True):
        response = _intake(client, hall, files)
    assert response.status_code == 302
    return {d.display_name: d for d in CaseDocument.objects.all()}


def _stored(document) -> bytes:
    with document.file.open("rb") as handle:
        return handle.read()


def test_scans_get_neutral_names_from_the_checklist(uploaded):
    assert sorted(uploaded) == [
        "材料-补充-1.pdf",
        "材料1-居民身份证.jpg",
        "材料2-解除劳动关系证明-2.png",
        "材料2-解除劳动关系证明.pdf",
    ]


def test_an_images_exif_comment_and_xmp_are_gone_and_it_still_stands_upright(uploaded):
    stored = _stored(uploaded["材料1-居民身份证.jpg"])
    assert not any(secret in stored for secret in SECRETS)
    with Image.open(io.BytesIO(stored)) as image:
        assert not image.getexif() and "comment" not in image.info and "xmp" not in image.info
        assert image.size == (30, 40), "the EXIF orientation was applied before stripping"


def test_a_pngs_text_chunks_are_gone(uploaded):
    stored = _stored(uploaded["材料2-解除劳动关系证明-2.png"])
    assert not any(secret in stored for secret in SECRETS)
    with Image.open(io.BytesIO(stored)) as image:
        assert image.text == {}


def test_a_pdfs_document_information_and_xmp_are_gone(uploaded):
    stored = _stored(uploaded["材料2-解除劳动关系证明.pdf"])
    assert not any(secret in stored for secret in SECRETS)
    reader = PdfReader(io.BytesIO(stored))
    assert reader.metadata is None and reader.xmp_metadata is None
    assert "/Metadata" not in reader.trailer["/Root"] and len(reader.pages) == 1


def test_the_recorded_hash_and_storage_name_are_of_the_stored_bytes(uploaded):
    for document in uploaded.values():
        stored = _stored(document)
        digest = hashlib.sha256(stored).hexdigest()
        assert document.sha256 == digest and document.size == len(stored)
        assert document.file.name.startswith(f"scans/{digest}")


def test_no_trace_of_the_original_file_name_is_kept(uploaded):
    for document in uploaded.values():
        for value in (document.display_name, document.file.name):
            assert "李娜" not in value and "扫描" not in value
        row_history = document.history.values()
        assert all("李娜" not in str(row) for row in row_history)


def test_the_reviewers_page_shows_the_neutral_names_never_the_original(client, uploaded, hall):
    case = next(iter(uploaded.values())).case
    task = risk_services.review_task_draw(task_id=case.tasks.get().pk)
    sign_in(client, task.assignee)
    page = client.get(f"/inbox/tasks/{task.pk}/").content.decode()
    assert "材料1-居民身份证.jpg" in page and "材料2-解除劳动关系证明.pdf" in page
    assert ORIGINAL_NAME not in page and "李娜" not in page
    download = client.get(f"/files/{uploaded['材料1-居民身份证.jpg'].pk}/")
    assert "%E6%9D%90%E6%96%991" in download["Content-Disposition"]  # "材料1", URL-encoded
    assert download.getvalue() == _stored(uploaded["材料1-居民身份证.jpg"])


def test_the_archive_names_scans_neutrally_and_its_hashes_match_the_stored_bytes(client, uploaded):
    case = next(iter(uploaded.values())).case
    client.force_login(make_staff(Role.AUDITOR))
    archive = zipfile.ZipFile(io.BytesIO(client.get(f"/audit/cases/{case.pk}/archive.zip").content))
    manifest = {e["path"]: e["sha256"] for e in json.loads(archive.read("manifest.json"))["files"]}
    scans = {path for path in manifest if path.startswith("scans/")}
    assert scans == {f"scans/{name}" for name in uploaded}
    for name, document in uploaded.items():
        assert (
            manifest[f"scans/{name}"]
            == document.sha256
            == hashlib.sha256(archive.read(f"scans/{name}")).hexdigest()
        )
    assert all("李娜" not in path for path in archive.namelist())


def _encrypted_pdf() -> bytes:
    writer = PdfWriter()
    writer.add_blank_page(100, 100)
    writer.encrypt(user_password="secret", owner_password="owner")
    buffer = io.BytesIO()
    writer.write(buffer)
    return buffer.getvalue()


@pytest.mark.parametrize(
    "content",
    [_encrypted_pdf(), b"%PDF-1.4\n1 0 obj<<>>endobj\ntrailer<<>>\n%%EOF\n"],
    ids=["password-protected", "no document in it"],
)
def test_a_pdf_that_cannot_be_rewritten_is_refused(client, hall, content):
    response = _intake(client, hall, {"scans": [SimpleUploadedFile("a.pdf", content)]})
    assert response.status_code == 400
    assert not CaseDocument.objects.exists()


def test_a_scan_name_never_carries_path_characters():
    name = scan_display_name(
        position=3, material_name="证明/../x:y", content_type="image/png", taken=set()
    )
    assert name == "材料3-证明_.._x_y.png"
