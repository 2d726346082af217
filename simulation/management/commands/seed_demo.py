import datetime
from pathlib import Path

from django.conf import settings
from django.contrib.auth import get_user_model
from django.contrib.auth.models import Group, Permission
from django.core.management import call_command
from django.core.management.base import BaseCommand
from django.db import transaction
from django.urls import reverse
from django.utils import timezone
from django.utils.timezone import localtime

from appointments import services as appointment_services
from appointments.models import Appointment
from counters.models import Queue, Window
from devices.bridge.simulator import CITIZENS
from devices.models import HallDevice
from devices.services import hall_device_link_issue
from risk.models import Qualification
from risk.services import qualification_grant
from staff.passwords import password_generate
from staff.roles import Role
from staff.selectors import users_with_role
from staff.services import staff_member_create

# (username, display name, employee number, roles, review level, approval level, team)
DEMO_STAFF = [
    *[
        (f"clerk{n}", name, f"G{n:03d}", [Role.CLERK], 0, 0, "综合柜员组")
        for n, name in enumerate(
            ["李娜", "王磊", "张静", "刘洋", "陈敏", "杨帆", "赵丽", "黄涛"], 1
        )
    ],
    ("reviewer1", "周建国", "S001", [Role.REVIEWER, Role.APPROVER], 3, 3, "审核审批组"),
    ("reviewer2", "吴秀英", "S002", [Role.REVIEWER, Role.APPROVER], 3, 3, "审核审批组"),
    ("reviewer3", "郑海燕", "S003", [Role.REVIEWER], 2, 0, "审核审批组"),
    ("reviewer4", "孙志强", "S004", [Role.REVIEWER], 1, 0, "审核审批组"),
    ("approver1", "马玉兰", "S005", [Role.APPROVER], 0, 3, "审核审批组"),
    ("approver2", "朱文斌", "S006", [Role.REVIEWER, Role.APPROVER], 2, 2, "审核审批组"),
    # Agency leadership: the second approval of level-3 cases (lump sums, death benefits).
    ("leader1", "蒲永强", "S007", [Role.APPROVER], 0, 3, "局领导"),
    ("leader2", "杜春梅", "S008", [Role.APPROVER], 0, 3, "局领导"),
    ("teamlead", "何志明", "L001", [Role.TEAM_LEAD], 0, 0, "柜员团队"),
    ("windowlead", "高红梅", "L002", [Role.WINDOW_LEAD], 0, 0, "综合受理区"),
    ("auditor", "罗晓东", "A001", [Role.AUDITOR], 0, 0, "稽核组"),
    ("sysadmin", "系统管理员", "X001", [Role.SYSTEM_ADMINISTRATOR], 0, 0, ""),
    ("secadmin", "安全管理员", "X002", [Role.SECURITY_ADMINISTRATOR], 0, 0, ""),
    ("auditadmin", "审计管理员", "X003", [Role.AUDIT_ADMINISTRATOR], 0, 0, ""),
]
# Window 6 serves the back-office queue; 1-5 the comprehensive counter.
DEMO_WINDOWS = [(n, "综合受理区", Queue.HALL) for n in range(1, 6)] + [
    (6, "后台事项区", Queue.BACK_OFFICE)
]
# What the system administrator keeps in the admin: accounts and the hall's equipment.
SYSTEM_ADMINISTRATOR_PERMISSIONS = [
    "view_user",
    "add_user",
    "change_user",
    "view_staffprofile",
    "add_staffprofile",
    "change_staffprofile",
    "view_window",
    "add_window",
    "change_window",
    "view_halldevice",
    "add_halldevice",
    "change_halldevice",
    # API tokens: listed read-only (issued and revoked on the API tokens page).
    "view_apitoken",
]
# What the team lead may edit in the admin (the catalog and the roster).
TEAM_LEAD_PERMISSIONS = [
    "view_serviceitem",
    "change_serviceitem",
    "view_material",
    "change_material",
    "add_material",
    "view_insurancecategory",
    "view_staffprofile",
    "change_staffprofile",
    "view_window",
    "view_riskpolicy",
    "change_riskpolicy",
    "view_itemriskpolicy",
    "change_itemriskpolicy",
    "add_itemriskpolicy",
    "view_qualification",
    "add_qualification",
    "view_leaveperiod",
    "add_leaveperiod",
]


class Command(BaseCommand):
    help = "Create a demo hall: windows, staff with mixed qualifications, the catalog. Idempotent."

    def handle(self, *args, **options):
        call_command("load_catalog", stdout=self.stdout)
        created = self._seed()
        Path(settings.VAR_DIR).mkdir(parents=True, exist_ok=True)
        logins = Path(settings.VAR_DIR) / "demo-logins.txt"
        if created:
            logins.write_text(
                "".join(f"{user:<12} {password}\n" for user, password in created), encoding="utf-8"
            )
            logins.chmod(0o600)
            self.stdout.write(self.style.SUCCESS(f"Demo logins (shown once, kept in {logins}):"))
            for user, password in created:
                self.stdout.write(f"  {user:<12} {password}")
        else:
            self.stdout.write(f"Demo hall already seeded; logins are in {logins}")
        devices = Path(settings.VAR_DIR) / "demo-devices.txt"
        lines = self._device_links()
        devices.write_text("\n".join(lines) + "\n", encoding="utf-8")
        devices.chmod(0o600)
        self.stdout.write(f"Hall devices: open each link once on its screen (kept in {devices}):")
        for line in lines:
            self.stdout.write(f"  {line}")
        booked = self._appointments()
        if booked:
            self.stdout.write(
                "Appointments of the simulated ID cards (check in at the kiosk by swiping the"
                " card, or with the code):"
            )
            for line in booked:
                self.stdout.write(f"  {line}")

    def _device_links(self) -> list[str]:
        """A fresh one-time link for each device not registered yet (an earlier unused
        link stops working); a registered screen keeps its cookie and needs none."""
        lines = []
        for device in HallDevice.objects.select_related("window").order_by("kind", "pk"):
            label = f"{device.kind:<8} {device.name}"
            if device.registered_at is not None:
                lines.append(
                    f"{label}: registered {localtime(device.registered_at):%Y-%m-%d %H:%M};"
                    " a new link:"
                    f" http://127.0.0.1:8000{reverse('devices:hall_devices')} (teamlead)"
                )
            elif device.enabled:
                secret = hall_device_link_issue(device_id=device.pk, actor=None, reason="seed_demo")
                lines.append(
                    f"{label}: http://127.0.0.1:8000"
                    f"{reverse('devices:device_register', args=[secret])}"
                )
        return lines

    def _appointments(self) -> list[str]:
        """The device simulator's four citizens each book a time in the comprehensive
        queue today (the slots still ahead) and on the next working day, so the kiosk's
        card swipe checks one in; a day that already has bookings is left as it is."""
        lead = users_with_role(Role.TEAM_LEAD).order_by("pk").first()
        today = timezone.localdate()
        days = [day for day in appointment_services.booking_days(today) if day >= today][:2]
        if today not in days:
            days = days[:1]
        lines = []
        for day in days:
            slots = [
                start
                for start, _end in appointment_services.day_slots(day)
                if start > timezone.now() + datetime.timedelta(minutes=5)
            ]
            if lead is None or not slots or Appointment.objects.filter(day=day).exists():
                continue
            appointment_services.slot_capacity_set(lead=lead, queue=Queue.HALL, day=day, per_slot=4)
            for number, (citizen, start) in enumerate(zip(CITIZENS, slots, strict=False), 1):
                appointment = appointment_services.appointment_book(
                    queue=Queue.HALL,
                    slot_start=start,
                    id_number=citizen["id_number"],
                    phone=f"138000000{number:02d}",
                )
                lines.append(
                    f"{localtime(appointment.slot_start):%Y-%m-%d %H:%M} {citizen['name']}"
                    f" (simulated card {number}) code {appointment.code}"
                )
        return lines

    @transaction.atomic
    def _seed(self) -> list[tuple[str, str]]:
        for kind, name in (
            (HallDevice.Kind.KIOSK, "大厅取号机 1"),
            (HallDevice.Kind.DISPLAY, "叫号屏 1"),
        ):
            HallDevice.objects.get_or_create(kind=kind, name=name)
        for number, zone, queue in DEMO_WINDOWS:
            window, _created = Window.objects.get_or_create(
                number=number, defaults={"zone": zone, "queue": queue}
            )
            HallDevice.objects.get_or_create(
                kind=HallDevice.Kind.PAD, window=window, defaults={"name": f"窗口 {number} 评价器"}
            )
        lead_group, _created = Group.objects.get_or_create(name=Role.TEAM_LEAD.value)
        lead_group.permissions.add(*Permission.objects.filter(codename__in=TEAM_LEAD_PERMISSIONS))
        admin_group, _created = Group.objects.get_or_create(name=Role.SYSTEM_ADMINISTRATOR.value)
        admin_group.permissions.add(
            *Permission.objects.filter(codename__in=SYSTEM_ADMINISTRATOR_PERMISSIONS)
        )
        users = get_user_model().objects
        created = []
        for username, name, number, roles, review, approval, team in DEMO_STAFF:
            if users.filter(username=username).exists():
                continue
            password = password_generate()
            user = staff_member_create(
                username=username,
                password=password,
                display_name=name,
                employee_number=number,
                roles=roles,
                window_team=team,
            )
            for kind, level in (
                (Qualification.Kind.REVIEW, review),
                (Qualification.Kind.APPROVAL, approval),
            ):
                if level:
                    qualification_grant(
                        user=user, kind=kind, level=level, reason="demo hall set-up"
                    )
            if Role.TEAM_LEAD in roles or Role.SYSTEM_ADMINISTRATOR in roles:
                user.is_staff = True
                user.save(update_fields=["is_staff"])
            created.append((username, password))
        return created
