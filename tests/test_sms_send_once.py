"""A text is sent once: claimed before the gateway call, released when the gateway fails."""

import pytest

from counters.models import SmsMessage
from inbox.notices import sms_message_send


class FailingGateway:
    def send(self, *, phone: str, text: str) -> None:
        raise ConnectionError("gateway down")


class RecordingGateway:
    sent: list = []

    def send(self, *, phone: str, text: str) -> None:
        RecordingGateway.sent.append(text)


@pytest.fixture
def message(hall):
    from cases import services as case_services
    from counters import services
    from tests.factories import make_id_number

    services.window_sign_on(clerk=hall.li_na, window_id=hall.window.pk)
    services.window_declare_ready(clerk=hall.li_na)
    services.ticket_issue(item=hall.item)
    case = case_services.case_accept(
        clerk=hall.li_na, item_id=hall.item.pk, applicant_name="王大山",
        id_number=make_id_number(), received_material_ids={hall.material.pk},
        applicant_phone="13800000001",
    )  # fmt: skip
    return SmsMessage.objects.create(
        case=case, phone="13800000001", text="您的申请已受理。", dedupe_key="test:accepted"
    )


@pytest.mark.django_db
def test_a_failed_gateway_releases_the_claim_and_the_retry_sends_it(settings, message):
    settings.SMS_GATEWAY = f"{__name__}.FailingGateway"
    with pytest.raises(ConnectionError):
        sms_message_send(message_id=message.pk)
    message.refresh_from_db()
    assert message.sent_at is None, "claim released"
    settings.SMS_GATEWAY = f"{__name__}.RecordingGateway"
    RecordingGateway.sent = []
    assert sms_message_send(message_id=message.pk) is True
    assert sms_message_send(message_id=message.pk) is False
    assert RecordingGateway.sent == ["您的申请已受理。"]
