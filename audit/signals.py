"""Sign-ins, sign-outs and failed sign-ins are audit events (with source IP and request id
from the request context). A failed attempt records the username tried, never the password."""

from django.contrib.auth.signals import user_logged_in, user_logged_out, user_login_failed
from django.db import transaction
from django.dispatch import receiver

from audit import admin_log  # noqa: F401 - registers the admin's audit receiver
from audit.models import AuditEvent
from audit.services import audit_event_record


@receiver(user_logged_in)
def _signed_in(sender, request, user, **kwargs):
    with transaction.atomic():
        audit_event_record(event_type="auth.signed_in", actor=user, obj=user)


@receiver(user_logged_out)
def _signed_out(sender, request, user, **kwargs):
    if user is not None:
        with transaction.atomic():
            audit_event_record(event_type="auth.signed_out", actor=user, obj=user)


@receiver(user_login_failed)
def _sign_in_failed(sender, credentials, request=None, **kwargs):
    with transaction.atomic():
        audit_event_record(
            event_type="auth.sign_in_failed",
            outcome=AuditEvent.Outcome.REFUSED,
            data={"username": str(credentials.get("username", ""))[:150]},
        )
