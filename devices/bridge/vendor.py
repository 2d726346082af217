"""The place for a hall vendor's driver. Copy this class (or complete it), wrap the
vendor's SDK in the four methods, and start the bridge with

    python manage.py device_bridge --driver devices.bridge.vendor.VendorDriver

(or your own module's dotted path). Everything else — the WebSocket, the protocol, the
origin check, the page's module — stays as it is. Typical SDKs:

- ID-card readers (公安部 certified, e.g. the common `termb`/`sdtapi` libraries) open a
  port (`InitComm`), authenticate the card (`Authenticate`), read it (`Read_Content`),
  and leave the text fields and a decoded photo (BMP: convert it to JPEG with Pillow).
- QR scanners are usually a serial port or a keyboard-wedge device: read one line.
- Signature pads give a bitmap or stroke list after the citizen taps "confirm".
- Document cameras give a frame from their SDK or a UVC video device.

Load the native library with ctypes inside the methods (or in __init__), never at import
time, so `manage.py` works on machines without it. Raise DeviceError(ErrorCode.NO_CARD)
etc. as the protocol expects (drivers.py)."""

from devices.bridge.drivers import DeviceDriver, DeviceError, ErrorCode, IdCard


class VendorDriver(DeviceDriver):
    name = "vendor"

    def devices(self) -> dict[str, bool]:
        # TODO: report what the SDK finds connected; nothing until a vendor fills it in.
        return {
            "card_reader": False,
            "qr_scanner": False,
            "signature_pad": False,
            "document_camera": False,
        }

    def read_card(self) -> IdCard:
        raise DeviceError(ErrorCode.NO_DEVICE, "no vendor ID-card reader configured")

    def scan_qr(self, *, timeout: float) -> str:
        raise DeviceError(ErrorCode.NO_DEVICE, "no vendor QR scanner configured")

    def capture_signature(self, *, timeout: float, prompt: str) -> bytes:
        raise DeviceError(ErrorCode.NO_DEVICE, "no vendor signature pad configured")

    def capture_document(self) -> bytes:
        raise DeviceError(ErrorCode.NO_DEVICE, "no vendor document camera configured")
