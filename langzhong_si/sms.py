"""The SMS gateway interface. Production plugs in the agency's gateway by setting
SMS_GATEWAY to a dotted path; the default only logs (the number masked)."""

import logging
from typing import Protocol

from django.conf import settings
from django.utils import timezone
from django.utils.module_loading import import_string

logger = logging.getLogger("langzhong_si.sms")


class SmsGateway(Protocol):
    def send(self, *, phone: str, text: str) -> None: ...


class LoggingSmsGateway:
    def send(self, *, phone: str, text: str) -> None:
        logger.info("SMS to %s***%s: %s", phone[:3], phone[-4:], text)


def sms_gateway() -> SmsGateway:
    return import_string(settings.SMS_GATEWAY)()


def sms_send_once(rows, *, pk: int) -> bool:
    """Send the text row `pk` of the queryset `rows` (a model with phone, text and
    sent_at) exactly once: the row is claimed with a conditional update before the
    gateway is called, and the claim released if the gateway fails, so a retry sends it.
    False when it was already sent (or is being sent)."""
    claimed = rows.filter(pk=pk, sent_at__isnull=True).update(sent_at=timezone.now())
    if claimed != 1:
        return False
    message = rows.get(pk=pk)
    try:
        sms_gateway().send(phone=message.phone, text=message.text)
    except Exception:
        rows.filter(pk=pk).update(sent_at=None)
        raise
    return True
