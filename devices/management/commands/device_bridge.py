"""Run the local device bridge on this machine (README, "Hall devices")."""

import asyncio
import contextlib

from django.conf import settings
from django.core.management.base import BaseCommand, CommandError
from django.utils.module_loading import import_string

from devices.bridge.server import DEFAULT_PORT, BridgeServer
from devices.bridge.simulator import SimulatorDriver


class Command(BaseCommand):
    help = "Run the local device bridge (ID-card reader, QR scanner, signature pad, camera)."

    def add_arguments(self, parser):
        group = parser.add_mutually_exclusive_group(required=True)
        group.add_argument("--simulate", action="store_true", help="simulated devices")
        group.add_argument("--driver", help="dotted path of a DeviceDriver class")
        parser.add_argument("--port", type=int, default=DEFAULT_PORT)
        parser.add_argument(
            "--allow-origin",
            action="append",
            dest="origins",
            help="origin of the hall's web server whose pages may connect (repeatable; "
            "default http://127.0.0.1:8000 and http://localhost:8000)",
        )

    def handle(self, *args, simulate, driver, port, origins, **options):
        if simulate:
            if settings.PRODUCTION:
                raise CommandError("The simulated devices are for the demo and tests only.")
            device_driver = SimulatorDriver(qr_key=settings.ESSC_DEMO_KEY)
        else:
            device_driver = import_string(driver)()
        origins = origins or ["http://127.0.0.1:8000", "http://localhost:8000"]
        self.stdout.write(
            f"Device bridge ({device_driver.name}) on ws://127.0.0.1:{port}, "
            f"for pages from {', '.join(origins)}"
        )
        # Loopback only: the devices are this machine's and nobody else's.
        server = BridgeServer(device_driver, origins=origins)
        with contextlib.suppress(KeyboardInterrupt):
            asyncio.run(server.run(host="127.0.0.1", port=port))
