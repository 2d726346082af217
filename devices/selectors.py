from devices.models import HallDevice
from langzhong_si.credentials import credential_digest
from staff.scope import scope_filter


def hall_device_for_credential(credential: str, kind: str | None = None) -> HallDevice | None:
    """The enabled device a presented credential belongs to (of `kind`, if given), in one
    query; None if there is none. Found by the credential's digest: a digest read from
    the table is not a credential, since it would be hashed again. No constant-time
    comparison is needed: the index compares digests, and how long that takes can at
    most reveal part of a digest, which brings no one closer to a secret that hashes
    to it."""
    if not credential:
        return None
    devices = HallDevice.objects.select_related("window").filter(
        credential_digest=credential_digest(credential), enabled=True
    )
    if kind is not None:
        devices = devices.filter(kind=kind)
    return devices.first()


def hall_devices(user):
    """The screens and pads of the sites `user` sees (staff.scope)."""
    return scope_filter(HallDevice.objects.select_related("window", "site"), user).order_by(
        "site_id", "kind", "window__number", "pk"
    )
