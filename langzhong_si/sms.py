"""The SMS gateway interface. Production plugs in the agency's gateway by setting
SMS_GATEWAY to a dotted path; the default only logs (the number masked)."""

import logging
from typing import Protocol

from django.conf import settings
from django.utils.module_loading import import_string

logger = logging.getLogger("langzhong_si.sms")


class SmsGateway(Protocol):
    def send(self, *, phone: str, text: str) -> None: ...


class LoggingSmsGateway:
    def send(self, *, phone: str, text: str) -> None:
        logger.info("SMS to %s***%s: %s", phone[:3], phone[-4:], text)


def sms_gateway() -> SmsGateway:
    return import_string(settings.SMS_GATEWAY)()
