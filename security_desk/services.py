"""Sign-in codes: what a password someone else set waits for (staff.passwords.
sign_in_code_awaited). The system administrator sets a password and never sees a code;
the security administrator gives the code, in hand, and never sees the password."""

import datetime
import functools
import re
import secrets

from django.conf import settings
from django.contrib.auth import get_user_model
from django.core.exceptions import PermissionDenied, ValidationError
from django.db import transaction
from django.utils import timezone
from django.utils.crypto import constant_time_compare, salted_hmac
from django.utils.translation import gettext as _

from audit.agency import person_agency_ids
from audit.models import AuditEvent
from audit.services import audit_event_record
from security_desk.models import SignInCode
from security_desk.transitions import sign_in_code_transition
from staff.passwords import password_record_id, password_set_by
from staff.roles import Role
from staff.scope import agency_manager_check, power_refused
from staff.selectors import user_roles

CODE_DIGITS = 8
# Wrong entries that end a code: five guesses of 10^8, one chance in 20 million.
WRONG_ENTRIES_ALLOWED = 5
S = SignInCode.Status


def _digest(user_pk: int, code: str) -> str:
    """Keyed (SECRET_KEY): eight digits are no secret to an unkeyed hash's reader."""
    key = "security_desk.sign_in_code"
    return salted_hmac(key, f"{user_pk}:{code}", algorithm="sha256").hexdigest()


def sign_in_code_issue(
    *, user, issued_by, from_server: bool = False
) -> tuple[str, datetime.datetime]:
    """Give `user` a new sign-in code (ending any open one): returns the code, shown this
    once and kept only as a digest, and when it expires. The security administrator's
    power within their agency, the installing superuser's for anyone (at set-up: the
    sign_in_code command); never on one's own account, never for a password one set
    oneself (else one person would hold both halves), never for a superuser's account but
    by a superuser, never for an account at no site yet (its agency unknown). Refusals
    are recorded (power.refused). `from_server`: the installing superuser at the
    server's shell (the sign_in_code command), who may give the code for a password they
    set (the first administrators' at set-up): whoever holds the shell holds the database."""
    if issued_by is None or not issued_by.is_authenticated:
        raise PermissionDenied(_("Only the security administrator gives sign-in codes."))
    refused = functools.partial(power_refused, issued_by, action="sign_in_code_issue", target=user)
    if not issued_by.is_superuser:
        if Role.SECURITY_ADMINISTRATOR.value not in user_roles(issued_by):
            raise refused(
                _("Only the security administrator gives sign-in codes."), reason="role_not_held"
            )
        if user.is_superuser:
            raise refused(
                _("Only the superuser manages a superuser's account."), reason="superuser"
            )
        agencies = person_agency_ids(user)
        if not agencies:
            raise ValidationError(
                _("Give the account its sites first: a sign-in code goes to a person of "
                  "your agency."),
                code="no_site",
            )  # fmt: skip
        agency_manager_check(issued_by, agencies, action="sign_in_code_issue", target=user)
    if issued_by.pk == user.pk:
        raise refused(_("Nobody gives themselves a sign-in code."), reason="own_account")
    set_by = password_set_by(user)
    if set_by is None or set_by == user.pk:
        raise ValidationError(
            _("This person's password is their own: it needs no sign-in code."),
            code="not_awaited",
        )
    if set_by == issued_by.pk and not (from_server and issued_by.is_superuser):
        raise refused(
            _("Whoever set a person's password gives them no sign-in code."),
            reason="set_the_password",
        )
    code = "".join(secrets.choice("0123456789") for _digit in range(CODE_DIGITS))
    now = timezone.now()
    expires_at = now + datetime.timedelta(hours=settings.SIGN_IN_CODE_HOURS)
    with transaction.atomic():
        # One issue at a time per person: the open code they end is the one they see.
        get_user_model().objects.select_for_update().filter(pk=user.pk).exists()
        replaced = False
        for earlier in SignInCode.objects.select_for_update().filter(user=user, status=S.OPEN):
            sign_in_code_transition(code=earlier, to=S.REPLACED, actor=issued_by)
            replaced = True
        SignInCode.objects.create(
            user=user, digest=_digest(user.pk, code), issued_by=issued_by, issued_at=now,
            expires_at=expires_at, password_record_id=password_record_id(user),
        )  # fmt: skip
        audit_event_record(
            event_type="auth.sign_in_code_issued", actor=issued_by, obj=user,
            data={"expires_at": expires_at.isoformat(), "replaced": replaced},
        )  # fmt: skip
    return code, expires_at


def sign_in_code_enter(*, user, code: str) -> bool:
    """The person enters the code they were given: True, and the code used, when it is
    their open code, has not expired and was given for the password they signed in with.
    A wrong entry is counted and recorded; the WRONG_ENTRIES_ALLOWED-th ends the code
    (they ask for a new one)."""
    entered = re.sub(r"[\s-]", "", code or "")[: CODE_DIGITS + 1]
    with transaction.atomic():
        given = SignInCode.objects.select_for_update().filter(user=user, status=S.OPEN).first()
        right = (
            given is not None
            and given.expires_at > timezone.now()
            # Given for the password in force (not one before a later reset: its issuer
            # may have set that one, their role changed meanwhile).
            and given.password_record_id == password_record_id(user)
            and constant_time_compare(given.digest, _digest(user.pk, entered))
        )
        if right:
            sign_in_code_transition(code=given, to=S.USED, actor=user)
        elif given is not None:
            given.wrong_entries += 1
            if given.wrong_entries >= WRONG_ENTRIES_ALLOWED:
                sign_in_code_transition(
                    code=given, to=S.REFUSED, actor=user, fields=("wrong_entries",)
                )
            else:
                given.save(update_fields=["wrong_entries"])
        audit_event_record(
            event_type="auth.sign_in_code_used" if right else "auth.sign_in_code_refused",
            actor=user, obj=user,
            outcome=AuditEvent.Outcome.SUCCESS if right else AuditEvent.Outcome.REFUSED,
            data={} if right or given is None else {"wrong_entries": given.wrong_entries},
        )  # fmt: skip
    return right
