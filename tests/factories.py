"""Test data. Staff are created through the staff service so roles and profiles are
always consistent; catalog data is built directly (it is reference data)."""

import datetime
import itertools
import os
import secrets
from contextlib import contextmanager

import factory
from django.core.cache import caches
from django.core.cache.backends.redis import RedisCache
from django.utils import timezone

from audit.bulk import bulk_writes_allowed
from catalog.models import InsuranceCategory, Material, ServiceItem
from counters.models import Queue, Window
from langzhong_si.identity import id_number_check_char
from risk.models import ReviewTask
from risk.services import qualification_grant
from sites.defaults import home_agency_id
from sites.models import Agency, Site
from staff.roles import Role
from staff.services import staff_member_create

_numbers = itertools.count(1)


def make_id_number(birth: datetime.date = datetime.date(1980, 5, 17), serial: int | None = None):
    """A valid 18-character ID number (Langzhong's area code 511381)."""
    serial = next(_numbers) % 1000 if serial is None else serial
    first17 = f"511381{birth:%Y%m%d}{serial:03d}"
    return first17 + id_number_check_char(first17)


def make_staff(role: Role | list[Role], *, review_level=0, approval_level=0, name=None, **extra):
    """A staff member with roles and, where given, review/approval qualifications;
    `sites=[...]` names the sites they work at (default: the home hall)."""
    n = next(_numbers)
    roles = role if isinstance(role, list) else [role]
    user = staff_member_create(
        username=f"{roles[0].value}{n}",
        password="Demo-pass-123",
        display_name=name or f"Person{n}",
        employee_number=f"E{n:05d}",
        roles=roles,
        **extra,
    )
    for kind, level in (("review", review_level), ("approval", approval_level)):
        if level:
            qualification_grant(user=user, kind=kind, level=level, reason="test set-up")
    return user


def make_agency(code=None, name=None):
    """A further agency of the deployment (a neighbouring county), with no site yet."""
    n = next(_numbers)
    return Agency.objects.create(
        code=code or f"5199{n:02d}", name=name or f"测试县社会保险事业管理局{n}"
    )


def make_site(agency=None, kind="station", code=None, name=None):
    """A site of `agency` (by default the home agency): a station unless told otherwise."""
    n = next(_numbers)
    return Site.objects.create(
        agency=agency or Agency.objects.get(pk=home_agency_id()),
        kind=kind,
        code=code or f"{kind}{n}",
        name=name or f"测试{'大厅' if kind == 'hall' else '社保所'}{n}",
    )


class CategoryFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = InsuranceCategory
        django_get_or_create = ["code"]

    code = "QYYL"
    name = "企业职工基本养老保险"


class ItemFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = ServiceItem

    code = factory.Sequence(lambda n: f"T-{n:03d}")
    name = factory.Sequence(lambda n: f"测试事项{n}")
    category = factory.SubFactory(CategoryFactory)
    at_counter = True
    risk_level = 2
    handling_type = ServiceItem.HandlingType.PROMISED
    statutory_days = 15
    promised_days = 7


class MaterialFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = Material

    item = factory.SubFactory(ItemFactory)
    name = factory.Sequence(lambda n: f"材料{n}")
    required = True
    is_key = True


class WindowFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = Window

    number = factory.Sequence(lambda n: n + 1)
    zone = "综合受理区"
    queue = Queue.HALL


def today():
    return timezone.localdate()


def sign_in(client, user):
    """Sign a test client in as `user`, confirming the second factor as the person
    would with their authenticator when their role needs one."""
    from django_otp import DEVICE_ID_SESSION_KEY
    from django_otp.plugins.otp_totp.models import TOTPDevice

    from staff.selectors import needs_second_factor

    client.force_login(user)
    if needs_second_factor(user):
        device, _created = TOTPDevice.objects.get_or_create(
            user=user, defaults={"name": "authenticator", "confirmed": True}
        )
        session = client.session
        session[DEVICE_ID_SESSION_KEY] = device.persistent_id
        session.save()
    return user


def totp_code(user) -> str:
    """The code the person's authenticator app shows now."""
    from django_otp.oath import TOTP
    from django_otp.plugins.otp_totp.models import TOTPDevice

    device = TOTPDevice.objects.filter(user=user).order_by("-pk").first()
    totp = TOTP(device.bin_key, device.step, device.t0, device.digits, device.drift)
    return f"{totp.token():0{device.digits}d}"


def integration_token(user=None) -> str:
    """An API key for an integration account (by default a new one acting as an intake
    channel), issued by a system administrator as in the hall."""
    from staff.services import api_token_issue

    user = user or make_staff([Role.INTEGRATION, Role.CLERK])
    _token, key = api_token_issue(user=user, issued_by=make_staff(Role.SYSTEM_ADMINISTRATOR))
    return key


def registered_device(kind="kiosk", window=None, name=None, site=None):
    """A hall device registered as a screen is: a link issued, then used. Returns the
    device and its credential (the cookie / `Authorization: Device` value), which only the
    registration hands out; the database keeps a digest."""
    from devices.models import HallDevice
    from devices.services import hall_device_link_issue, hall_device_register

    if site is None and window is not None:
        site = window.site
    extra = {"site": site} if site is not None else {}
    device = HallDevice.objects.create(
        kind=kind, name=name or f"test {kind}", window=window, **extra
    )
    secret = hall_device_link_issue(device_id=device.pk, actor=None, reason="test screen")
    return hall_device_register(secret=secret)


def as_if_awaiting_its_draw(case) -> ReviewTask:
    """Crafted in the database: the case's task awaiting its draw with no draw having
    run, as a task opened by the release before (which drew through the outbox) whose
    message has not run yet; the intake draws by itself now."""
    with bulk_writes_allowed():
        case.tasks.update(status=ReviewTask.Status.AWAITING_DRAW, assignee=None, draw=None)
    return case.tasks.get()


@contextmanager
def held_in_another_transaction(hold, then=None):
    """Run `hold()` inside a transaction of another thread (its own connection), and keep
    that transaction open while the block runs; when the block ends it commits, then
    `then()` runs in that thread. Yields a dict that receives `then`'s result."""
    import threading

    from django.db import connections, transaction

    holding, release, result = threading.Event(), threading.Event(), {}

    def other():
        try:
            with transaction.atomic():
                hold()
                holding.set()
                release.wait(10)
            if then is not None:
                result["then"] = then()
        finally:
            holding.set()
            connections.close_all()

    thread = threading.Thread(target=other)
    thread.start()
    holding.wait(10)
    try:
        yield result
    finally:
        release.set()
        thread.join(10)


def case_submitted(hall):
    """li_na, signed on at the hall's window 1, serves the next citizen and submits a
    complete case of the hall's level-2 item: its review is drawn."""
    from counters import services

    services.window_sign_on(clerk=hall.li_na, window_id=hall.window.pk)  # once is enough
    services.window_declare_ready(clerk=hall.li_na)
    services.ticket_issue(item=hall.item)
    case = hall_case_accept(hall)
    services.ticket_finish(clerk=hall.li_na)
    return case


def hall_case_accept(hall):
    """li_na takes in a complete case of the hall's level-2 item for the citizen her
    window serves."""
    from cases import services as case_services

    return case_services.case_accept(
        clerk=hall.li_na,
        item_id=hall.item.pk,
        applicant_name="王大山",
        id_number=make_id_number(),
        received_material_ids={hall.material.pk},
    )


def minute_steady(margin: int = 10) -> None:
    """Wait, if needed, until the clock's minute has more than `margin` seconds to run:
    for a test that takes an ETag holding the minute and expects it back unchanged."""
    import time

    second = time.time() % 60
    if second > 60 - margin:
        time.sleep(60.5 - second)


def redis_key_prefix(name: str) -> str:
    """A key prefix of one test's own: a test that forgets its keys never takes another's
    (the tests' Redis database is shared by every test run on the machine)."""
    return f"{name}-{secrets.token_hex(4)}"


def redis_default_cache(settings, name: str) -> None:
    """The default cache in the tests' Redis, as deployed (CACHE_URL), under a key prefix
    of this test's own (redis_key_prefix); forget its keys with redis_keys_forget."""
    settings.CACHES = {
        "default": {
            "BACKEND": "operations.cache.ReusedClientRedisCache",
            "LOCATION": os.environ["CELERY_BROKER_URL"],
            "KEY_PREFIX": redis_key_prefix(name),
        }
    }


def default_cache_forget() -> None:
    """The default cache emptied; in Redis, only the keys under its own prefix (a Redis
    cache's clear() is FLUSHDB of the tests' Redis database, the Celery broker's too)."""
    default = caches["default"]
    if isinstance(default, RedisCache):
        redis_keys_forget(default)
    else:
        default.clear()


def redis_keys_forget(cache) -> None:
    """A Redis cache's keys under its own prefix (never FLUSHDB: the tests' Redis database
    is the broker's too)."""
    client = cache._cache.get_client(write=True)
    keys = list(client.scan_iter(f"{cache.key_prefix}:*"))
    if keys:
        client.delete(*keys)
