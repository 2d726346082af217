"""The README's screenshots, taken from the demo hall so they stay current.

    .venv/bin/python scripts/screenshots.py            # writes docs/screenshots/*.png

It builds a throw-away demo hall (SQLite in a temporary folder: migrate, seed_demo, then a
morning's traffic through the real services), serves it, and photographs the kiosk, the
call display, a clerk's workbench mid-intake, a reviewer's inbox and the live hall at
1280 × 800 in Debian's chromium (/usr/bin/chromium, never a downloaded browser). Each PNG
is reduced to 256 colours, which keeps it small and the text sharp."""

import argparse
import os
import socket
import subprocess
import sys
import tempfile
import time
import urllib.request
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
CHROMIUM = "/usr/bin/chromium"
VIEWPORT = {"width": 1280, "height": 800}


def _free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


def _environment(folder: Path) -> dict:
    env = dict(os.environ)
    env.update(
        DATABASE_URL=f"sqlite:///{folder / 'demo.sqlite3'}",
        LANGZHONG_VAR_DIR=str(folder),
        MEDIA_ROOT=str(folder / "media"),
        TWO_FACTOR_ROLES="none",  # the demo without phones (README)
        STATIC_ROOT=str(folder / "static"),
        HALL_HOURS_ENFORCED="false",  # photographed at any hour, as the demo runs
        DJANGO_SETTINGS_MODULE="langzhong_si.settings",
    )
    env.pop("CELERY_BROKER_URL", None)
    return env


def _id_number(serial: int) -> str:
    from langzhong_si.identity import id_number_check_char

    first17 = f"511381195803{serial:02d}{serial:03d}"[:17]
    return first17 + id_number_check_char(first17)


def build_morning() -> dict:
    """A morning in the demo hall, through the services: five windows open, a queue,
    cases in review. Returns what the photographs need."""
    from django.contrib.auth import get_user_model

    from cases import services as case_services
    from catalog.models import ServiceItem
    from counters import services
    from counters.models import Window
    from devices.models import HallDevice
    from devices.services import hall_device_link_issue, hall_device_register
    from langzhong_si.celery import app as celery_app
    from risk.models import ReviewTask
    from sites.defaults import home_site_id

    celery_app.conf.task_always_eager = True  # draws happen at once, as the worker would
    users = get_user_model().objects
    clerks = [users.get(username=f"clerk{n}") for n in range(1, 6)]
    # The home hall's (the demo's stations number their windows from 1 too); the tickets
    # below, issued with no kiosk, are the home hall's.
    hall = home_site_id()
    windows = list(Window.objects.filter(site_id=hall).order_by("number")[:5])
    items = {
        item.name: item
        for item in ServiceItem.objects.filter(
            name__in=["失业保险金申领", "城乡居民基本养老保险参保登记", "个人权益记录查询打印"]
        )
    }
    unemployment = items.get("失业保险金申领") or ServiceItem.objects.filter(risk_level=2).first()
    others = [item for item in items.values() if item != unemployment] or [unemployment]
    for clerk, window in zip(clerks, windows, strict=True):
        services.window_sign_on(clerk=clerk, window_id=window.pk)
    # Clerks 2–4 each accept a level-2 case: the draws put tasks in reviewers' inboxes.
    for n, clerk in enumerate(clerks[1:4], 1):
        services.window_declare_ready(clerk=clerk)
        services.ticket_issue(item=unemployment)
        unemployment_materials = set(unemployment.materials.values_list("pk", flat=True))
        case_services.case_accept(
            clerk=clerk,
            item_id=unemployment.pk,
            applicant_name=["王大山", "刘桂兰", "陈志明"][n - 1],
            id_number=_id_number(n),
            received_material_ids=unemployment_materials,
        )
        # F8 leaves a window ready (and hands it the next ticket); these pause instead,
        # so the morning's tickets below go where the photographs expect them.
        services.ticket_finish(clerk=clerk, pause_reason="整理材料")
    services.window_declare_ready(clerk=clerks[4])
    services.window_pause(clerk=clerks[4], reason="午间交接")
    services.ticket_issue(item=unemployment)  # clerk1 serves this one
    services.window_declare_ready(clerk=clerks[0])
    for n in range(8):
        services.ticket_issue(item=others[n % len(others)])
    for clerk in clerks[1:4]:
        services.window_declare_ready(clerk=clerk)
    task = ReviewTask.objects.filter(status="open").select_related("assignee").first()
    credentials = {}
    for kind in (HallDevice.Kind.KIOSK, HallDevice.Kind.DISPLAY):
        device = HallDevice.objects.filter(kind=kind, site_id=hall).first()
        secret = hall_device_link_issue(device_id=device.pk, actor=None, reason="screenshots")
        credentials[kind] = hall_device_register(secret=secret).credential
    return {
        "reviewer": task.assignee.username if task else "reviewer1",
        "category": unemployment.category.code,
        "item": unemployment.pk,
        "devices": credentials,
    }


def _optimise(path: Path) -> None:
    from PIL import Image

    with Image.open(path) as image:
        reduced = image.convert("RGB").quantize(colors=256, method=Image.Quantize.MEDIANCUT)
    reduced.save(path, optimize=True)


def photograph(base: str, morning: dict, logins: dict, out: Path) -> list[Path]:
    from playwright.sync_api import sync_playwright

    from devices.decorators import DEVICE_COOKIE

    shots = []
    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(
            executable_path=CHROMIUM,
            # The hall's browsers run in Chinese: the file pickers say 选择文件 too.
            args=[
                "--headless",
                "--no-sandbox",
                "--disable-gpu",
                "--disable-background-networking",
                "--lang=zh-CN",
            ],
        )

        def device(kind):
            context = browser.new_context(viewport=VIEWPORT, locale="zh-CN")
            credential = morning["devices"][kind]
            context.add_cookies([{"name": DEVICE_COOKIE, "value": credential, "url": base}])
            return context.new_page()

        def signed_in(username):
            page = browser.new_context(viewport=VIEWPORT, locale="zh-CN").new_page()
            page.goto(f"{base}/login/")
            page.fill("#id_username", username)
            page.fill("#id_password", logins[username])
            page.click("form button.btn-primary")
            page.wait_for_load_state("load")
            return page

        def shoot(page, name):
            page.wait_for_load_state("networkidle")
            path = out / f"{name}.png"
            page.screenshot(path=path)
            _optimise(path)
            shots.append(path)

        kiosk = device("kiosk")
        kiosk.goto(f"{base}/kiosk/?category={morning['category']}")
        shoot(kiosk, "kiosk")
        display = device("display")
        display.goto(f"{base}/display/")
        shoot(display, "call-display")
        clerk = signed_in("clerk1")
        clerk.goto(f"{base}/counter/?item={morning['item']}")
        clerk.fill("#id_applicant_name", "赵秀珍")
        clerk.fill("#id_id_number", _id_number(9))
        clerk.check("table.checklist input[type=checkbox]")
        clerk.evaluate("window.scrollTo(0, 0)")  # ticking scrolled the form down
        shoot(clerk, "workbench")
        reviewer = signed_in(morning["reviewer"])
        reviewer.goto(f"{base}/inbox/")
        shoot(reviewer, "inbox")
        lead = signed_in("teamlead")
        lead.goto(f"{base}/lead/dashboard/")
        shoot(lead, "live-hall")
        browser.close()
    return shots


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--out", type=Path, default=ROOT / "docs" / "screenshots")
    args = parser.parse_args()
    args.out.mkdir(parents=True, exist_ok=True)
    with tempfile.TemporaryDirectory(prefix="langzhong-shots-") as temporary:
        folder = Path(temporary)
        env = _environment(folder)
        os.environ.update(env)
        os.environ.pop("CELERY_BROKER_URL", None)
        sys.path.insert(0, str(ROOT))
        os.chdir(ROOT)
        import django

        django.setup()
        from django.core.management import call_command

        call_command("migrate", verbosity=0, interactive=False)
        call_command("seed_demo", stdout=open(os.devnull, "w"))  # noqa: SIM115
        logins = dict(
            line.split() for line in (folder / "demo-logins.txt").read_text().splitlines()
        )
        morning = build_morning()
        port = _free_port()
        # Served as in production (and as scripts/demo.sh does): gunicorn, with the static
        # files collected and served by WhiteNoise.
        call_command("collectstatic", interactive=False, verbosity=0)
        gunicorn = Path(sys.executable).with_name("gunicorn")
        server = subprocess.Popen(  # noqa: S603 (the project's own gunicorn)
            [str(gunicorn), "langzhong_si.wsgi", "--bind", f"127.0.0.1:{port}",
             "--workers", "2", "--threads", "4"],
            cwd=ROOT, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
        )  # fmt: skip
        base = f"http://127.0.0.1:{port}"
        try:
            for _ in range(60):
                try:
                    urllib.request.urlopen(f"{base}/login/", timeout=1)  # noqa: S310 (local)
                    break
                except OSError:
                    time.sleep(0.5)
            shots = photograph(base, morning, logins, args.out)
        finally:
            server.terminate()
            server.wait(timeout=10)
    for path in shots:
        print(f"{path}  {path.stat().st_size // 1024} KB")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
