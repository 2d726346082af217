import io

import qrcode
import qrcode.image.svg


def qr_svg(data: str) -> bytes:
    """A QR code as a standalone SVG (no raster library needed; prints sharply)."""
    image = qrcode.make(data, image_factory=qrcode.image.svg.SvgPathImage, box_size=10, border=2)
    buffer = io.BytesIO()
    image.save(buffer)
    return buffer.getvalue()
