"""Hall devices: the kiosk, the call display and the windows' rating pads run on registered
screens, identified by a credential (a cookie) that a one-time registration link creates,
never by a staff login."""

from typing import NamedTuple

from django.core.exceptions import PermissionDenied, ValidationError
from django.db import transaction
from django.utils import timezone
from django.utils.translation import gettext as _

from audit.models import AuditEvent
from audit.services import audit_event_record
from devices.models import HallDevice
from devices.selectors import device_copy_key
from langzhong_si.compiled import row_copy_mark
from langzhong_si.credentials import credential_digest, credential_new
from langzhong_si.text import CHANGE_REASON_MAX_LENGTH, text_clean
from staff.roles import Role
from staff.scope import scope_of
from staff.selectors import user_has_role

# Who may hand a screen its registration link.
LINK_ISSUERS = (Role.TEAM_LEAD, Role.SYSTEM_ADMINISTRATOR)


class LinkRefused(Exception):
    """The registration link is unknown, already used, or its device is disabled."""


class Registration(NamedTuple):
    device: HallDevice
    credential: str  # for the screen's cookie, this once; only its digest is stored


def hall_device_link_issue(*, device_id: int, actor, reason: str) -> str:
    """Issue a new registration link for a device and return its secret, which is shown
    once and stored only as a hash. Any earlier unused link stops working; the device's
    current screen keeps working until the new link is used. `actor` None is an
    installation command (seed_demo)."""
    if actor is not None and not any(user_has_role(actor, role) for role in LINK_ISSUERS):
        raise PermissionDenied(
            _("Only the team lead or the system administrator issues device links.")
        )
    reason = text_clean(reason, field=_("Reason"), max_length=CHANGE_REASON_MAX_LENGTH).strip()
    if not reason:
        raise ValidationError(_("Give the reason for a new registration link."), code="reason")
    secret, _prefix, digest = credential_new()
    with transaction.atomic(durable=True):
        device = HallDevice.objects.select_for_update().get(pk=device_id)
        if actor is not None and not scope_of(actor).allows_site(device.site_id):
            # Another site's (or agency's) screen: as if it did not exist.
            raise HallDevice.DoesNotExist
        if not device.enabled:
            raise ValidationError(_("This device is disabled."), code="disabled")
        device.link_digest = digest
        device.link_issued_at = timezone.now()
        device.link_used_at = None
        device.save(update_fields=["link_digest", "link_issued_at", "link_used_at"])
        audit_event_record(
            event_type="device.link_issued",
            actor=actor,
            obj=device,
            data={
                "kind": device.kind,
                "window": device.window_id,
                "site": device.site_id,
                "reason": reason,
            },
        )
    return secret


def hall_device_for_link(secret: str) -> HallDevice:
    """The device a still-valid registration link would register (for the confirmation
    page); raises LinkRefused otherwise."""
    device = (
        HallDevice.objects.select_related("window")
        .filter(link_digest=credential_digest(secret), enabled=True, link_used_at__isnull=True)
        .first()
    )
    if device is None:
        raise LinkRefused
    return device


def hall_device_register(*, secret: str) -> Registration:
    """Use a registration link: the device gets a new credential, returned this once
    for the screen's cookie and stored only as a digest, and the link is spent. A second
    use, from any machine, is refused and recorded."""
    with transaction.atomic(durable=True):
        device = (
            HallDevice.objects.select_for_update()
            .filter(link_digest=credential_digest(secret))
            .first()
        )
        if device is None:
            raise LinkRefused
        if device.link_used_at is not None or not device.enabled:
            audit_event_record(
                event_type="device.registration_refused",
                obj=device,
                outcome=AuditEvent.Outcome.REFUSED,
                data={"link_used_at": device.link_used_at, "enabled": device.enabled},
            )
            refused = True
        else:
            now = timezone.now()
            credential = credential_new()
            device.credential_digest = credential.digest
            device.credential_prefix = credential.prefix
            device.registered_at = now
            device.link_used_at = now
            device.save(
                update_fields=[
                    "credential_digest",
                    "credential_prefix",
                    "registered_at",
                    "link_used_at",
                ]
            )
            audit_event_record(
                event_type="device.registered",
                obj=device,
                data={
                    "kind": device.kind,
                    "window": device.window_id,
                    "credential_prefix": credential.prefix,
                },
            )
            refused = False
    # Raised after the commit, so the refusal's audit event is kept.
    if refused:
        raise LinkRefused
    return Registration(device, credential.secret)


def window_device_copies_mark(*, window_id: int) -> None:
    """The window's clerk changed (devices.signals): the row copies of its devices (a
    pad's, devices.selectors.device_copy_key) hold the window as it was, and are marked."""
    devices = HallDevice.objects.filter(window_id=window_id).exclude(credential_digest="")
    for digest in devices.values_list("credential_digest", flat=True):
        row_copy_mark(device_copy_key(digest))
