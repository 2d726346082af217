"""The applicant signs the receipt or the 容缺 commitment letter on the counter's pad: the
PNG is vetted like a scan, kept in the case file under its SHA-256, recorded as an audit
event, and shown on the paper when it is printed again."""

import hashlib
import io

import pytest
from PIL import Image

from audit.models import AuditEvent
from counters.models import CaseDocument
from devices.bridge.simulator import document_jpeg, signature_png
from tests.cases.test_any_clerk import _accept
from tests.factories import sign_in

pytestmark = pytest.mark.django_db


def _post(client, case, content, paper="receipt"):
    upload = io.BytesIO(content)
    upload.name = "signature.png"
    return client.post(
        f"/counter/cases/{case.pk}/signature/", {"paper": paper, "signature": upload}
    )


def test_a_signature_is_kept_in_the_case_file_with_its_hash_and_an_audit_event(
    client, hall, django_capture_on_commit_callbacks
):
    case = _accept(hall, django_capture_on_commit_callbacks)
    sign_in(client, hall.li_na)
    answer = _post(client, case, signature_png("王大山"))
    assert answer.status_code == 200, answer.content
    document = CaseDocument.objects.get(case=case, display_name="签名-受理回执.png")
    stored = document.file.read()
    assert answer.json()["sha256"] == document.sha256 == hashlib.sha256(stored).hexdigest()
    assert Image.open(io.BytesIO(stored)).format == "PNG"
    event = AuditEvent.objects.get(event_type="case.signature_added")
    assert event.actor == hall.li_na
    assert event.data["sha256"] == document.sha256 and event.data["paper"] == "receipt"


def test_the_signed_receipt_shows_the_signature_when_printed_again(
    client, hall, django_capture_on_commit_callbacks
):
    case = _accept(hall, django_capture_on_commit_callbacks)
    sign_in(client, hall.li_na)
    _post(client, case, signature_png())
    page = client.get(f"/counter/cases/{case.pk}/receipt/").content.decode()
    assert 'src="data:image/png;base64,' in page


def test_a_second_signature_stands_beside_the_first(
    client, hall, django_capture_on_commit_callbacks
):
    case = _accept(hall, django_capture_on_commit_callbacks)
    sign_in(client, hall.li_na)
    _post(client, case, signature_png("a"))
    _post(client, case, signature_png("b"))
    assert sorted(case.documents.values_list("display_name", flat=True)) == [
        "签名-受理回执-2.png", "签名-受理回执.png"
    ]  # fmt: skip


@pytest.mark.parametrize(
    "content",
    [b"<html><script>alert(1)</script></html>", b"\x89PNG\r\n\x1a\nbroken", document_jpeg()],
    ids=["html", "broken-png", "jpeg"],
)
def test_anything_but_a_readable_png_is_refused_and_nothing_is_kept(
    client, hall, django_capture_on_commit_callbacks, content
):
    case = _accept(hall, django_capture_on_commit_callbacks)
    sign_in(client, hall.li_na)
    answer = _post(client, case, content)
    assert answer.status_code == 400 and answer.json()["ok"] is False
    assert not case.documents.exists()
    assert not AuditEvent.objects.filter(event_type="case.signature_added").exists()


def test_a_paper_the_case_does_not_have_cannot_be_signed(
    client, hall, django_capture_on_commit_callbacks
):
    case = _accept(hall, django_capture_on_commit_callbacks)  # in review: its paper is a receipt
    sign_in(client, hall.li_na)
    assert _post(client, case, signature_png(), paper="commitment").status_code == 400
    assert _post(client, case, signature_png(), paper="notice").status_code == 400
    assert not case.documents.exists()


def test_a_commitment_letter_is_signed_as_such(client, hall, django_capture_on_commit_callbacks):
    from tests.factories import MaterialFactory

    optional = MaterialFactory(item=hall.item, name="失业证明", is_key=False, required=True)
    capture = django_capture_on_commit_callbacks
    case = _accept(hall, capture, received={hall.material.pk}, defer=True)
    assert case.status == "awaiting_materials", optional
    sign_in(client, hall.li_na)
    assert _post(client, case, signature_png(), paper="commitment").status_code == 200
    assert case.documents.get().display_name == "签名-容缺承诺书.png"
