"""Call-to-display latency: from the moment a ticket is called (handed to a ready clerk)
to the moment the hall's call display shows it.

Run against a running demo (`bash scripts/demo.sh`, which prints the logins):

    .venv/bin/python bench/call_display_latency.py --rounds 30

Needs Debian's chromium at /usr/bin/chromium. Not part of the test suite.
"""

import argparse
import re
import statistics
import time
from pathlib import Path

from playwright.sync_api import sync_playwright

ROOT = Path(__file__).resolve().parent.parent
FLAGS = ["--headless", "--no-sandbox", "--disable-gpu", "--disable-background-networking"]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--base", default="http://127.0.0.1:8000")
    parser.add_argument("--rounds", type=int, default=30)
    parser.add_argument("--clerk", default="clerk8")
    parser.add_argument("--window", type=int, default=5)
    args = parser.parse_args()
    logins = dict(
        line.split() for line in (ROOT / "var" / "demo-logins.txt").read_text().splitlines()
    )
    devices = {
        line.split()[0]: line.split()[-1]
        for line in (ROOT / "var" / "demo-devices.txt").read_text().splitlines()
    }

    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path="/usr/bin/chromium", args=FLAGS)
        context = browser.new_context()
        display = context.new_page()
        display.goto(devices["display"].replace("http://127.0.0.1:8000", args.base))
        # Record, in the display's own clock, when each call first appears.
        display.evaluate(
            """() => {
                 window.seen = {};
                 const note = () => {
                   const call = document.querySelector('[data-call-id]');
                   const id = call && call.dataset.callId;
                   if (id && !(id in window.seen)) window.seen[id] = Date.now();
                 };
                 note();
                 new MutationObserver(note).observe(
                   document.body, {subtree: true, childList: true});
               }"""
        )
        clerk = browser.new_context().new_page()
        clerk.goto(f"{args.base}/login/")
        clerk.fill("#id_username", args.clerk)
        clerk.fill("#id_password", logins[args.clerk])
        clerk.click("form button.btn-primary")
        if clerk.query_selector(f"button[name=window][value='{args.window}']"):
            clerk.click(f"button[name=window][value='{args.window}']")
        kiosk = browser.new_context().new_page()
        kiosk.goto(devices["kiosk"].replace("http://127.0.0.1:8000", args.base))
        kiosk.goto(f"{args.base}/kiosk/?category=SBK")
        item = kiosk.get_attribute("button[name=item]", "value")

        latencies = []
        for _ in range(args.rounds):
            clerk.goto(f"{args.base}/counter/")
            if clerk.query_selector("[data-shortcut=F8]"):
                clerk.click("[data-shortcut=F8]")
            clerk.click("[data-shortcut=F2]")
            kiosk.goto(f"{args.base}/kiosk/?category=SBK")
            called_at = kiosk.evaluate("() => Date.now()")
            kiosk.click(f"button[name=item][value='{item}']")
            number = kiosk.inner_text("[data-testid=ticket-number]")
            if "窗口" not in kiosk.inner_text(".ticket-slip") and "window" not in kiosk.inner_text(
                ".ticket-slip"
            ):
                raise SystemExit("the ticket was not called at once: is the clerk's window ready?")
            deadline = time.monotonic() + 10
            shown = None
            while time.monotonic() < deadline and shown is None:
                seen = display.evaluate("() => window.seen")
                shown = next(
                    (t for key, t in seen.items() if key.startswith(_ticket_pk(kiosk.url))), None
                )
                time.sleep(0.05)
            if shown is None:
                raise SystemExit(f"{number} never reached the display")
            latencies.append(shown - called_at)
        browser.close()

    latencies.sort()
    print(f"call-to-display latency over {len(latencies)} calls (the display polls every 500 ms):")
    p95 = latencies[int(0.95 * (len(latencies) - 1))]
    print(
        f"  p50 {statistics.median(latencies):.0f} ms, p95 {p95:.0f} ms, max {latencies[-1]:.0f} ms"
    )


def _ticket_pk(url: str) -> str:
    return re.search(r"/kiosk/tickets/(\d+)/", url).group(1) + "-"


if __name__ == "__main__":
    main()
