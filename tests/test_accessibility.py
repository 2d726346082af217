"""Every screen in headless Chromium, checked by axe-core (vendored for tests only, see
tests/vendor/axe-core-4.14.1/README.md) and by two rules of the hall's own:

- no serious or critical axe violation (WCAG 2.0/2.1 A and AA plus axe's best practices);
- exactly one level-one heading;
- on the public and counter screens, every control (button, field, navigation link, radio
  or checkbox with its label) is a touch target of at least 44 × 44 CSS pixels.

One browser context per role; each screen is loaded once and checked in place."""

import json
import re
from pathlib import Path

import pytest
from django.core.files.base import ContentFile

from audit.models import Finding
from cases import services as case_services
from counters import services
from counters.models import CaseDocument, Window
from devices.decorators import DEVICE_COOKIE
from devices.models import HallDevice
from devices.services import hall_device_link_issue
from ratings import services as rating_services
from risk.services import review_task_draw
from staff.roles import Role
from tests.conftest import ARTIFACTS
from tests.factories import (
    ItemFactory,
    MaterialFactory,
    make_id_number,
    make_staff,
    registered_device,
    totp_code,
)

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]

AXE = Path(__file__).resolve().parent / "vendor" / "axe-core-4.14.1" / "axe.min.js"
TOUCH_MIN = 44

# Controls a finger must hit. Links inside running text are exempt (WCAG 2.5.5), so only
# links styled as buttons, navigation and list items count.
_TOUCH_TARGETS = """(min) => {
  const selector = 'button, .btn, input:not([type=hidden]), select, textarea, a.nav-link,'
    + ' a.navbar-brand, a.list-group-item, a.kiosk-category-button, a.kiosk-consult';
  const small = [];
  for (const element of document.querySelectorAll(selector)) {
    const style = getComputedStyle(element);
    if (style.visibility === 'hidden' || style.display === 'none') continue;
    let box = element.getBoundingClientRect();
    if (box.width === 0 && box.height === 0) continue;
    if (element.matches('input[type=radio], input[type=checkbox]')) {
      // The target is the control together with its label (a click on either works).
      const label = element.closest('label') || (element.id &&
        document.querySelector('label[for="' + element.id + '"]'));
      if (label) {
        const own = label.getBoundingClientRect();
        box = {width: Math.max(own.right, box.right) - Math.min(own.left, box.left),
               height: Math.max(own.bottom, box.bottom) - Math.min(own.top, box.top)};
      }
    }
    if (box.width < min - 0.5 || box.height < min - 0.5) {
      const name = (element.getAttribute('name') || element.textContent || '').trim();
      small.push(element.tagName.toLowerCase() + '.' + element.className + ' "'
        + name.slice(0, 30) + '" ' + Math.round(box.width) + 'x' + Math.round(box.height));
    }
  }
  return small;
}"""


def _axe(page) -> list[str]:
    if not page.evaluate("typeof window.axe !== 'undefined'"):
        page.add_script_tag(path=str(AXE))
    results = page.evaluate(
        "async () => (await axe.run(document, {resultTypes: ['violations']})).violations"
        ".map(v => ({id: v.id, impact: v.impact, nodes: v.nodes.map(n => n.target.join(' '))}))"
    )
    return [
        f"axe {v['id']} ({v['impact']}): {', '.join(v['nodes'][:3])}"
        for v in results
        if v["impact"] in ("serious", "critical")
    ]


def _record(name, problems, headings):
    """One line per screen in test-artifacts/a11y-results.jsonl, for a person to compare."""
    line = {
        "screen": name,
        "axe": sum(problem.startswith("axe ") for problem in problems),
        "h1": headings,
        "small_targets": sum(problem.startswith("target ") for problem in problems),
    }
    with open(ARTIFACTS / "a11y-results.jsonl", "a", encoding="utf-8") as log:
        log.write(json.dumps(line, ensure_ascii=False) + "\n")


def check_screen(page, name: str, *, touch: bool = False) -> list[str]:
    """What is wrong with the screen now loaded in `page` (empty when nothing)."""
    page.wait_for_load_state("load")
    problems = _axe(page)
    headings = page.locator("h1").count()
    if headings != 1:
        problems.append(f"{headings} level-one headings")
    if touch:
        problems += [f"target {small}" for small in page.evaluate(_TOUCH_TARGETS, TOUCH_MIN)]
    _record(name, problems, headings)
    safe = re.sub(r"[^a-z0-9-]+", "-", name)
    page.screenshot(path=ARTIFACTS / f"a11y-{safe}.png", full_page=True)
    return [f"{name}: {problem}" for problem in problems]


def _context(browser, viewport=(1440, 900)):
    # axe is injected as a script tag, which the site's Content-Security-Policy refuses.
    return browser.new_context(
        viewport={"width": viewport[0], "height": viewport[1]}, bypass_csp=True
    )


def _signed_in(browser, live_server, user, problems=None, viewport=(1440, 900)):
    """A context for one role, signed in through the real form; the sign-in and
    second-factor screens are checked on the way when `problems` is given."""
    page = _context(browser, viewport).new_page()
    page.goto(f"{live_server.url}/login/")
    if problems is not None:
        problems += check_screen(page, "sign-in", touch=True)
    page.fill("#id_username", user.username)
    page.fill("#id_password", "Demo-pass-123")
    page.click("form button.btn-primary")
    page.wait_for_load_state("load")
    if "/account/two-factor/" in page.url:
        if problems is not None:
            problems += check_screen(page, "two-factor")
        page.fill("#id_code", totp_code(user))
        page.click("form button.btn-primary")
        page.wait_for_load_state("load")
    return page


def _device_page(browser, live_server, kind, window=None, viewport=(1280, 800)):
    _device, credential = registered_device(kind, window)
    context = _context(browser, viewport)
    host = live_server.url.split("//", 1)[1].split(":")[0]
    context.add_cookies([{"name": DEVICE_COOKIE, "value": credential, "domain": host, "path": "/"}])
    return context.new_page()


@pytest.fixture
def screens(hall, django_capture_on_commit_callbacks):
    """A hall mid-morning: li_na has finished one level-2 case (drawn to zhou) that was
    rated badly, and serves a second citizen now; an audit finding is open."""
    clerk = hall.li_na
    MaterialFactory(item=hall.item, name="解除劳动关系证明", is_key=False)
    level0 = ItemFactory(risk_level=0, name="参保证明打印")
    MaterialFactory(item=level0, name="居民身份证")
    services.window_sign_on(clerk=clerk, window_id=hall.window.pk)
    services.window_declare_ready(clerk=clerk)
    ticket = services.ticket_issue(item=hall.item)
    number = make_id_number()
    with django_capture_on_commit_callbacks(execute=True):
        case = case_services.case_accept(
            clerk=clerk,
            item_id=hall.item.pk,
            applicant_name="王大山",
            id_number=number,
            received_material_ids=set(hall.item.materials.values_list("pk", flat=True)),
        )
    task = review_task_draw(task_id=case.tasks.get().pk)
    services.ticket_finish(clerk=clerk)
    rating_services.rating_submit(ticket_id=ticket.pk, level=1, reason="太慢", window=hall.window)
    CaseDocument.objects.create(
        case=case,
        display_name="材料1-身份证.pdf",
        file=ContentFile(b"%PDF-1.4 test", name="scan.pdf"),
        content_type="application/pdf",
        size=13,
        sha256="0" * 64,
        uploaded_by=clerk,
    )
    finding = Finding.objects.create(rule="sample", severity="low", case=case, dedupe_key="t:1")
    return {"case": case, "id_number": number, "task": task, "ticket": ticket,
            "finding": finding, "level0": level0}  # fmt: skip


def test_the_public_and_device_screens_are_accessible(browser, live_server, hall, screens):
    url = live_server.url
    problems: list[str] = []
    citizen = _context(browser, (412, 915)).new_page()  # a phone
    for name, path in (
        ("guides", "/guides/"),
        ("guide-search", "/guides/search/?q=%E6%B5%8B%E8%AF%95"),
        ("guide", f"/guides/{hall.item.code}/"),
        ("progress", "/progress/"),
        ("progress-result", f"/progress/?case={screens['case'].number}"
                            f"&id4={screens['id_number'][-4:]}"),
        ("ticket-page", f"/t/{screens['ticket'].public_token}/"),
    ):  # fmt: skip
        citizen.goto(url + path)
        problems += check_screen(citizen, name, touch=True)
    citizen.goto(url + "/kiosk/")
    problems += check_screen(citizen, "unregistered-device", touch=True)

    kiosk = _device_page(browser, live_server, "kiosk", viewport=(1080, 1920))
    kiosk.goto(f"{url}/kiosk/")
    problems += check_screen(kiosk, "kiosk", touch=True)
    kiosk.goto(f"{url}/kiosk/?category={hall.item.category.code}")
    problems += check_screen(kiosk, "kiosk-category", touch=True)
    kiosk.click(f"button[name=item][value='{screens['level0'].pk}']")
    kiosk.wait_for_selector("[data-testid=ticket-number]")
    problems += check_screen(kiosk, "kiosk-slip", touch=True)

    display = _device_page(browser, live_server, "display", viewport=(1920, 1080))
    display.goto(f"{url}/display/")
    problems += check_screen(display, "call-display")

    pad = _device_page(browser, live_server, "pad", window=hall.window)
    pad.goto(f"{url}/rating/")
    problems += check_screen(pad, "rating-pad-idle", touch=True)
    if not Window.objects.filter(pk=hall.window.pk, state=Window.State.SERVING).exists():
        services.window_declare_ready(clerk=hall.li_na)  # serves the kiosk's ticket
    services.ticket_finish(clerk=hall.li_na)
    pad.goto(f"{url}/rating/")
    problems += check_screen(pad, "rating-pad", touch=True)

    fresh = _context(browser).new_page()
    device = HallDevice.objects.create(kind="kiosk", name="取号机 2")
    secret = hall_device_link_issue(device_id=device.pk, actor=None, reason="a11y")
    fresh.goto(f"{url}/devices/{secret}/register/")
    problems += check_screen(fresh, "device-register", touch=True)
    assert not problems, "\n".join(problems)


def test_the_counter_screens_are_accessible(browser, live_server, hall, screens):
    url = live_server.url
    problems: list[str] = []
    newcomer = make_staff(Role.CLERK, name="赵敏")
    page = _signed_in(browser, live_server, newcomer, problems)
    problems += check_screen(page, "sign-on", touch=True)

    page = _signed_in(browser, live_server, hall.li_na)
    services.window_declare_ready(clerk=hall.li_na)
    page.goto(f"{url}/counter/")
    problems += check_screen(page, "workbench-idle", touch=True)
    services.ticket_issue(item=hall.item)
    page.goto(f"{url}/counter/")
    problems += check_screen(page, "workbench-serving", touch=True)
    case = screens["case"]
    for name, path, touch in (
        ("case", f"/counter/cases/{case.pk}/", True),
        ("receipt", f"/counter/cases/{case.pk}/receipt/", False),
        ("evaluation-own", "/evaluation/", False),
        ("account", "/account/", False),
        ("recusal", "/account/recusal/", False),
        ("notifications", "/notifications/", False),
        ("password-change", "/account/password/", False),
    ):
        page.goto(url + path)
        problems += check_screen(page, name, touch=touch)

    window_lead = make_staff(Role.WINDOW_LEAD, window_team=hall.window.zone, name="钱芳")
    page = _signed_in(browser, live_server, window_lead)
    page.goto(f"{url}/lead/queue/")
    problems += check_screen(page, "window-lead-queue", touch=True)
    assert not problems, "\n".join(problems)


def test_the_review_screens_are_accessible(browser, live_server, hall, screens):
    problems: list[str] = []
    page = _signed_in(browser, live_server, hall.zhou)
    page.goto(f"{live_server.url}/inbox/")
    problems += check_screen(page, "inbox")
    page.goto(f"{live_server.url}/inbox/tasks/{screens['task'].pk}/")
    problems += check_screen(page, "inbox-task")
    assert not problems, "\n".join(problems)


def test_the_lead_screens_are_accessible(browser, live_server, hall, screens):
    url = live_server.url
    problems: list[str] = []
    page = _signed_in(browser, live_server, make_staff(Role.TEAM_LEAD, name="何志明"), problems)
    for name, path in (
        ("live-hall", "/lead/dashboard/"),
        ("reports", "/reports/"),
        ("evaluation", "/evaluation/"),
        ("evaluation-sheet", f"/evaluation/{hall.li_na.pk}/"),
        ("evaluation-weights", "/evaluation/weights/"),
        ("pool", "/lead/pool/"),
        ("recusal-overview", "/recusal/declarations/"),
        ("follow-ups", "/lead/follow-ups/"),
        ("hall-devices", "/lead/devices/"),
    ):
        page.goto(url + path)
        if name == "reports":
            page.wait_for_function("window.Chart && Object.keys(Chart.instances).length > 0")
        problems += check_screen(page, name)
    assert not problems, "\n".join(problems)


def test_the_oversight_screens_are_accessible(browser, live_server, hall, screens):
    url = live_server.url
    problems: list[str] = []
    page = _signed_in(browser, live_server, make_staff(Role.AUDITOR))
    for name, path in (
        ("findings", "/audit/findings/"),
        ("finding", f"/audit/findings/{screens['finding'].pk}/"),
        ("draws", "/draws/"),
    ):
        page.goto(url + path)
        problems += check_screen(page, name)
    for role, name, path in (
        (Role.AUDIT_ADMINISTRATOR, "audit-log", "/audit/log/"),
        (Role.SECURITY_ADMINISTRATOR, "security", "/security/"),
        (Role.SYSTEM_ADMINISTRATOR, "api-tokens", "/api-tokens/"),
    ):
        page = _signed_in(browser, live_server, make_staff(role))
        page.goto(url + path)
        problems += check_screen(page, name)
    # The desk with a code shown, and the page its person types it on.
    from staff.services import password_must_change

    clerk = make_staff(Role.CLERK)
    password_must_change(user=clerk, set_by=make_staff(Role.SYSTEM_ADMINISTRATOR))
    page = _signed_in(browser, live_server, make_staff(Role.SECURITY_ADMINISTRATOR))
    page.goto(url + "/security/")
    page.fill("form:has(button[value=sign_in_code]) input[name=username]", clerk.username)
    page.click("button[value=sign_in_code]")
    page.wait_for_selector("[data-testid=sign-in-code]")
    problems += check_screen(page, "security-sign-in-code")
    page = _signed_in(browser, live_server, clerk)
    assert "/account/sign-in-code/" in page.url
    problems += check_screen(page, "sign-in-code")
    assert not problems, "\n".join(problems)


def _layout(page) -> dict:
    return page.evaluate(
        """() => {
          const nav = document.querySelector('.app-nav');
          const links = [...document.querySelectorAll('.app-nav .nav-link')];
          const items = document.querySelectorAll('.app-nav :is(.nav-link, .btn, .navbar-text)');
          const lines = (element) => {
            const range = document.createRange();
            range.selectNodeContents(element);
            return new Set([...range.getClientRects()].map(r => Math.round(r.top))).size;
          };
          return {
            overflow: document.documentElement.scrollWidth - window.innerWidth,
            navHeight: nav ? nav.getBoundingClientRect().height : 0,
            linkRows: new Set(links.map(l => Math.round(l.getBoundingClientRect().top))).size,
            broken: [...items].filter(item => lines(item) > 1).map(item => item.textContent.trim()),
          };
        }"""
    )


def test_at_200_percent_zoom_the_navigation_keeps_each_link_on_one_line_and_in_one_row(
    browser, live_server, hall
):
    # 200 % zoom of a 1440 × 900 window lays the page out in 720 × 450 CSS pixels.
    lead = make_staff(Role.TEAM_LEAD, name="何志明")  # the most links of any role
    page = _signed_in(browser, live_server, lead, viewport=(720, 450))
    page.goto(f"{live_server.url}/lead/pool/")
    layout = _layout(page)
    page.screenshot(path=ARTIFACTS / "a11y-zoom-200-staff.png")
    assert layout["broken"] == []
    assert layout["overflow"] <= 0
    assert layout["linkRows"] == 1
    assert layout["navHeight"] <= 160

    guides = _context(browser, (640, 400)).new_page()
    guides.goto(f"{live_server.url}/guides/")
    guides.screenshot(path=ARTIFACTS / "a11y-zoom-200-guides.png")
    assert _layout(guides)["overflow"] <= 0


def _root_font_px(page) -> float:
    return page.evaluate("parseFloat(getComputedStyle(document.documentElement).fontSize)")


def test_the_large_text_mode_is_remembered_and_rendered_large_by_the_server(
    browser, live_server, hall
):
    url = live_server.url
    page = _context(browser, (412, 915)).new_page()
    page.goto(f"{url}/guides/")
    normal = _root_font_px(page)
    page.click("[data-large-text-toggle]")
    assert page.get_attribute("[data-large-text-toggle]", "aria-pressed") == "true"
    assert _root_font_px(page) >= normal * 1.2

    # The next page arrives large from the server: no flash of small text.
    sent = page.context.request.get(f"{url}/progress/").text()
    assert re.search(r'<html lang="[^"]+" class="large-text">', sent)
    page.goto(f"{url}/progress/")
    assert _root_font_px(page) >= normal * 1.2
    page.screenshot(path=ARTIFACTS / "a11y-large-text-progress.png", full_page=True)

    kiosk = _device_page(browser, live_server, "kiosk", viewport=(1080, 1920))
    kiosk.goto(f"{url}/kiosk/")
    small = _root_font_px(kiosk)
    kiosk.click("[data-large-text-toggle]")
    kiosk.goto(f"{url}/kiosk/?category={hall.item.category.code}")
    assert _root_font_px(kiosk) >= small * 1.2
    kiosk.screenshot(path=ARTIFACTS / "a11y-large-text-kiosk.png", full_page=True)

    page.click("[data-large-text-toggle]")
    page.reload()
    assert _root_font_px(page) == normal
    assert page.get_attribute("[data-large-text-toggle]", "aria-pressed") == "false"


def test_the_kiosk_slip_returns_to_the_start_screen_without_a_meta_refresh(
    browser, live_server, hall, settings
):
    # A meta refresh is a critical axe violation (an unannounced page change); the
    # slip's return is scripted instead, and still happens.
    settings.KIOSK_RETURN_SECONDS = 1
    kiosk = _device_page(browser, live_server, "kiosk", viewport=(1080, 1920))
    kiosk.goto(f"{live_server.url}/kiosk/?category={hall.item.category.code}")
    kiosk.click(f"button[name=item][value='{hall.item.pk}']")
    kiosk.wait_for_selector("[data-testid=ticket-number]")
    assert kiosk.locator("head meta[http-equiv=refresh]").count() == 0
    kiosk.wait_for_url(f"{live_server.url}/kiosk/", timeout=5_000)


def test_the_appointment_screens_are_accessible(browser, live_server, hall):
    """The citizen's booking pages (on a phone), the kiosk's check-in and the team
    lead's capacities."""
    import datetime

    from django.utils import timezone

    from appointments import services as appointment_services
    from counters.models import Queue

    url = live_server.url
    problems: list[str] = []
    lead = make_staff(Role.TEAM_LEAD, name="何志明")
    day = timezone.localdate() + datetime.timedelta(days=1)
    while not appointment_services.day_slots(day):
        day += datetime.timedelta(days=1)
    appointment_services.slot_capacity_set(lead=lead, queue=Queue.HALL, day=day, per_slot=2)
    citizen = _context(browser, (412, 915)).new_page()
    citizen.goto(f"{url}/appointments/?queue=A&day={day.isoformat()}")
    problems += check_screen(citizen, "appointment-book", touch=True)
    citizen.click("label[for=slot-1]")
    citizen.fill("#id_id_number", make_id_number(serial=8))
    citizen.fill("#id_phone", "13800000008")
    citizen.click("[data-testid=booking-form] button.btn-primary")
    citizen.wait_for_selector("[data-testid=booking-code]")
    problems += check_screen(citizen, "appointment-booked", touch=True)
    citizen.goto(f"{url}/appointments/cancel/")
    problems += check_screen(citizen, "appointment-cancel", touch=True)

    kiosk = _device_page(browser, live_server, "kiosk", viewport=(1080, 1920))
    kiosk.goto(f"{url}/kiosk/appointment/")
    problems += check_screen(kiosk, "kiosk-check-in", touch=True)

    page = _signed_in(browser, live_server, lead)
    page.goto(f"{url}/lead/appointments/?day={day.isoformat()}")
    problems += check_screen(page, "appointment-capacities")
    assert not problems, "\n".join(problems)
