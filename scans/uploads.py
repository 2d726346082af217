"""Scanned materials: typed by content, size-limited, stripped of the metadata that
scanners and phones write (operator, workstation, software), stored under their hash."""

import hashlib
import io
import re

from django.conf import settings
from django.core.exceptions import ValidationError
from django.utils.translation import gettext as _
from PIL import Image, ImageOps, JpegImagePlugin
from pypdf import PdfReader, PdfWriter
from pypdf.generic import ArrayObject, DictionaryObject, IndirectObject, NameObject

# Leading bytes of the only types a case file accepts.
_SIGNATURES = {
    b"%PDF-": "application/pdf",
    b"\xff\xd8\xff": "image/jpeg",
    b"\x89PNG\r\n\x1a\n": "image/png",
}
# Signatures from the counter's pad are kept in the case file beside the scans, named
# "签名-<paper>.png" (papers.services.case_signature_add), never tied to a material.
SIGNATURE_PREFIX = "签名-"
_EXTENSIONS = {"application/pdf": "pdf", "image/jpeg": "jpg", "image/png": "png"}


def upload_content_type(head: bytes) -> str | None:
    for signature, content_type in _SIGNATURES.items():
        if head.startswith(signature):
            return content_type
    return None


def upload_check(uploaded) -> tuple[bytes, str]:
    """Read, vet and strip one uploaded scan; returns (content to store, content type) or
    raises with a message the clerk can act on. The file name and the browser's claimed
    type are ignored, and the name is never stored."""
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
    if content_type == "application/pdf":
        return _pdf_strip(content, uploaded.name), content_type
    _image_check(content, uploaded.name)
    return _image_strip(content, content_type, uploaded.name), content_type


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


def _image_strip(content: bytes, content_type: str, name: str) -> bytes:
    """Re-encode the pixels only: EXIF (artist, software, GPS), XMP, ICC profiles, text
    chunks and comments are left behind. The EXIF orientation is applied first so the
    page still stands upright; JPEG keeps its quantisation tables (no visible loss)."""
    options: dict = {}
    try:
        with Image.open(io.BytesIO(content)) as source:
            source.load()
            if content_type == "image/jpeg":
                image_format = "JPEG"
                options["qtables"] = source.quantization
                sampling = JpegImagePlugin.get_sampling(source)
                if sampling != -1:
                    options["subsampling"] = sampling
            else:
                image_format = "PNG"
                if "transparency" in source.info:
                    options["transparency"] = source.info["transparency"]
            if "dpi" in source.info:  # the print size of a scan, nothing about its maker
                options["dpi"] = source.info["dpi"]
            clean = ImageOps.exif_transpose(source)
            clean.info = {}
            output = io.BytesIO()
            clean.save(output, image_format, **options)
    except Exception:  # noqa: BLE001 - a file Pillow cannot re-encode is not a usable scan
        raise ValidationError(
            _("%(name)s is not a readable image.") % {"name": name}, code="upload_broken"
        ) from None
    return output.getvalue()


# Keys that carry authorship or tool data rather than page content.
_PDF_PRIVATE_KEYS = ("/Metadata", "/PieceInfo")
_PDF_ANNOTATION_AUTHOR_KEYS = ("/T", "/NM", "/RC")


def _pdf_strip(content: bytes, name: str) -> bytes:
    """Rewrite the PDF from its pages: the document information dictionary (Author,
    Creator, Producer, Title...), XMP streams, application data, earlier incremental
    revisions and the file identifier are not carried over; neither are document-level
    extras (attachments, scripts, outlines) that a scanned material does not need."""
    try:
        reader = PdfReader(io.BytesIO(content), strict=False)
        if reader.is_encrypted and not reader.decrypt(""):
            raise ValueError("encrypted")
        writer = PdfWriter()
        for page in reader.pages:
            writer.add_page(page)
        if not writer.pages:
            raise ValueError("no pages")
        writer.metadata = None
        _pdf_scrub(writer.root_object, set())
        output = io.BytesIO()
        writer.write(output)
    except Exception:  # noqa: BLE001 - any parsing failure means a broken or disguised file
        raise ValidationError(
            _("%(name)s is not a readable PDF (or it is password-protected).") % {"name": name},
            code="upload_broken",
        ) from None
    return output.getvalue()


def _pdf_scrub(node, seen: set[int]) -> None:
    """Walk every object reachable from the catalogue and drop private keys; markup
    annotations also lose their author (/T) and rich-text copies of it."""
    if isinstance(node, IndirectObject):
        if node.idnum in seen:
            return
        seen.add(node.idnum)
        node = node.get_object()
    if isinstance(node, DictionaryObject):
        for key in _PDF_PRIVATE_KEYS:
            node.pop(NameObject(key), None)
        if node.get("/Subtype") not in (None, "/Widget") and "/Rect" in node:
            for key in _PDF_ANNOTATION_AUTHOR_KEYS:
                node.pop(NameObject(key), None)
        for key, value in list(node.items()):
            if key != "/Parent":
                _pdf_scrub(value, seen)
    elif isinstance(node, ArrayObject):
        for value in node:
            _pdf_scrub(value, seen)


_UNSAFE_IN_NAMES = re.compile(r'[\\/:*?"<>|\x00-\x1f\x7f]+')


def scan_display_name(
    *, position: int | None, material_name: str, content_type: str, taken: set[str]
) -> str:
    """The neutral name a scan is shown and archived under: the material's position and
    name in the case's checklist ("材料2-解除劳动关系证明.pdf"), or "材料-补充-N.pdf" for a
    scan not tied to a material. A second scan of one material gets "-2", and so on."""
    extension = _EXTENSIONS[content_type]
    stems = {name.rsplit(".", 1)[0] for name in taken}  # one numbering across file types
    if position is None:
        number = 1
        while f"材料-补充-{number}" in stems:
            number += 1
        return f"材料-补充-{number}.{extension}"
    label = _UNSAFE_IN_NAMES.sub("_", material_name).strip()[:100]
    base = f"材料{position}-{label}"
    stem, copy = base, 1
    while stem in stems:
        copy += 1
        stem = f"{base}-{copy}"
    return f"{stem}.{extension}"


def upload_storage_name(content: bytes, content_type: str) -> str:
    """Content-addressed: the name is the file's SHA-256, which reveals nothing of the
    citizen or the original file name and proves the bytes have not changed."""
    return f"scans/{content_digest(content)}.{_EXTENSIONS[content_type]}"


def content_digest(content: bytes) -> str:
    return hashlib.sha256(content).hexdigest()
