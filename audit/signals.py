"""Sign-ins, sign-outs and failed sign-ins are audit events (with source IP and request id
from the request context). A failed attempt records the account tried, never the password:
the username when such an account exists, otherwise only its first two characters (what
was typed into the username field may be someone's password)."""

from django.contrib.auth import get_user_model
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


def username_attempted_masked(typed: str) -> str:
    return typed[:2] + "*" * min(max(len(typed) - 2, 1), 8)


@receiver(user_login_failed)
def _sign_in_failed(sender, credentials, request=None, **kwargs):
    typed = str(credentials.get("username", ""))[:150]
    account = get_user_model().objects.filter(username=typed).only("pk").first()
    with transaction.atomic():
        audit_event_record(
            event_type="auth.sign_in_failed",
            outcome=AuditEvent.Outcome.REFUSED,
            obj=account,
            data={
                "username": typed if account else username_attempted_masked(typed),
                "account_exists": account is not None,
            },
        )
