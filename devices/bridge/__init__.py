"""The local device bridge: a small process on the kiosk's or the counter's own machine
that reaches the hall's devices (second-generation ID-card reader, electronic
social-security-card QR scanner, signature pad, document camera) and offers them to the
page over a WebSocket on a loopback address, in the JSON protocol of README's "Hall
devices" section. `server.py` speaks the protocol; `drivers.py` is the interface a
device driver implements; `simulator.py` is the reference driver the demo and the tests
run; `vendor.py` is the place for a hall vendor's driver.

Start it with `manage.py device_bridge --simulate` (or `--driver dotted.path.Class`).
It imports nothing of the web application but the QR demo signature, and needs no
database."""

PROTOCOL_VERSION = 1
