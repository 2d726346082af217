"""Scanned materials: typed by content, size-limited, stored under random names."""

import hashlib
import io

from django.conf import settings
from django.core.exceptions import ValidationError
from django.utils.translation import gettext as _
from PIL import Image

# Leading bytes of the only types a case file accepts.
_SIGNATURES = {
    b"%PDF-": "application/pdf",
    b"\xff\xd8\xff": "image/jpeg",
    b"\x89PNG\r\n\x1a\n": "image/png",
}
_EXTENSIONS = {"application/pdf": "pdf", "image/jpeg": "jpg", "image/png": "png"}


def upload_content_type(head: bytes) -> str | None:
    for signature, content_type in _SIGNATURES.items():
        if head.startswith(signature):
            return content_type
    return None


def upload_check(uploaded) -> tuple[bytes, str]:
    """Read and vet one uploaded scan; returns (content, content type) or raises with a
    message the clerk can act on. The file name and the browser's claimed type are ignored."""
    if uploaded.size > settings.UPLOAD_MAX_BYTES:
        raise ValidationError(
            _("%(name)s is larger than %(limit)d MB.")
            % {"name": uploaded.name, "limit": settings.UPLOAD_MAX_BYTES // 1_000_000},
            code="upload_size",
        )
    content = uploaded.read(settings.UPLOAD_MAX_BYTES + 1)
    content_type = upload_content_type(content[:16])
    if content_type is None:
        raise ValidationError(
            _("%(name)s is not a PDF, JPEG or PNG file.") % {"name": uploaded.name},
            code="upload_type",
        )
    if content_type != "application/pdf":
        _image_check(content, uploaded.name)
    return content, content_type


def _image_check(content: bytes, name: str) -> None:
    try:
        with Image.open(io.BytesIO(content)) as image:
            width, height = image.size  # read from the header, nothing decoded yet
            image.verify()
    except Exception:  # noqa: BLE001 - any parsing failure means a broken or disguised file
        raise ValidationError(
            _("%(name)s is not a readable image.") % {"name": name}, code="upload_broken"
        ) from None
    if width * height > settings.UPLOAD_MAX_PIXELS:
        raise ValidationError(
            _("%(name)s has too many pixels to be a scan.") % {"name": name},
            code="upload_pixels",
        )


def upload_storage_name(content: bytes, content_type: str) -> str:
    """Content-addressed: the name is the file's SHA-256, which reveals nothing of the
    citizen or the original file name and proves the bytes have not changed."""
    return f"scans/{content_digest(content)}.{_EXTENSIONS[content_type]}"


def content_digest(content: bytes) -> str:
    return hashlib.sha256(content).hexdigest()
