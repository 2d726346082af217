from devices.models import HallDevice
from langzhong_si.credentials import credential_digest


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


def hall_devices():
    return HallDevice.objects.select_related("window").order_by("kind", "window__number", "pk")
