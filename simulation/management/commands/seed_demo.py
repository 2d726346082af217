import datetime
from pathlib import Path

from django.conf import settings
from django.contrib.auth import get_user_model
from django.contrib.auth.models import Group, Permission
from django.core.management import call_command
from django.core.management.base import BaseCommand
from django.db import transaction
from django.db.models import Count
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
from sites import services as site_services
from sites.defaults import HOME_HALL_NAME, home_agency_id
from sites.models import Agency, Site
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
# The demo agency's hall (the home hall the migration made), two of Langzhong's township
# and street stations (乡镇/街道社保所), and a neighbouring county's agency with its own
# hall, to show two agencies isolated in one deployment (a city hosting its counties).
# (agency code, agency name, short name)
DEMO_AGENCIES = [("511321", "南部县社会保险事业管理局", "南部")]
HOURS = "工作日 8:30-12:00，14:00-17:30"
# (agency code, site code, name, kind, address, opening hours, telephone, counter windows)
DEMO_SITES = [
    ("511381", "hall", HOME_HALL_NAME, Site.Kind.HALL, "阆中市七里大道 68 号", HOURS,
     "0817-6222333", 0),
    ("511381", "qili", "七里街道社保所", Site.Kind.STATION, "阆中市七里街道办事处一楼",
     HOURS, "0817-6231101", 2),
    ("511381", "jiangnan", "江南镇社保所", Site.Kind.STATION, "阆中市江南镇便民服务中心",
     "工作日 9:00-12:00，14:00-17:00", "0817-6241102", 2),
    ("511321", "hall", "南部县社会保险服务大厅", Site.Kind.HALL, "南部县滨江大道 2 号",
     HOURS, "0817-5522333", 3),
]  # fmt: skip
# Staff at the stations and at the other agency (same columns as DEMO_STAFF, then the
# agency and site): station clerks take applications there; review and approval stay
# with the reviewers and approvers of the county hall (前台受理、后台审核).
DEMO_SITE_STAFF = [
    ("qili_clerk1", "邓丽华", "Q101", [Role.CLERK], 0, 0, "七里街道社保所", "511381", "qili"),
    ("qili_clerk2", "唐军", "Q102", [Role.CLERK], 0, 0, "七里街道社保所", "511381", "qili"),
    ("jiangnan_clerk1", "袁芳", "Q201", [Role.CLERK], 0, 0, "江南镇社保所", "511381", "jiangnan"),
    ("jiangnan_clerk2", "彭勇", "Q202", [Role.CLERK], 0, 0, "江南镇社保所", "511381", "jiangnan"),
    ("nanbu_clerk1", "任晓燕", "N001", [Role.CLERK], 0, 0, "综合柜员组", "511321", "hall"),
    ("nanbu_clerk2", "谢国平", "N002", [Role.CLERK], 0, 0, "综合柜员组", "511321", "hall"),
    ("nanbu_reviewer", "冯志刚", "N101", [Role.REVIEWER, Role.APPROVER], 3, 3, "审核审批组",
     "511321", "hall"),
    ("nanbu_approver", "曾丽", "N102", [Role.REVIEWER, Role.APPROVER], 3, 3, "审核审批组",
     "511321", "hall"),
    ("nanbu_lead", "蒋红", "N201", [Role.TEAM_LEAD], 0, 0, "柜员团队", "511321", "hall"),
    # The city's read-only view over every agency of the deployment (南充市).
    ("cityviewer", "苟建华", "C001", [Role.CITY_VIEWER], 0, 0, "南充市社保局", "511381", "hall"),
]  # fmt: skip
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
    # Agencies and their sites (sites.services: audited, no site moves agency).
    "view_agency",
    "add_agency",
    "change_agency",
    "view_site",
    "add_site",
    "change_site",
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
                "".join(f"{user:<16} {password}\n" for user, password in created), encoding="utf-8"
            )
            logins.chmod(0o600)
            self.stdout.write(self.style.SUCCESS(f"Demo logins (shown once, kept in {logins}):"))
            for user, password in created:
                self.stdout.write(f"  {user:<16} {password}")
        else:
            self.stdout.write(f"Demo hall already seeded; logins are in {logins}")
        self.stdout.write("Agencies and sites (windows; the city viewer sees them all, read-only):")
        sites = (
            Site.objects.select_related("agency")
            .annotate(window_count=Count("windows"))
            .order_by("agency_id", "kind", "code")
        )
        for site in sites:
            self.stdout.write(
                f"  {site.agency.code} {site.agency} · {site.name} ({site.get_kind_display()},"
                f" {site.window_count} windows) {site.address} {site.opening_hours}"
            )
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

    def _sites(self) -> dict[tuple[str, str], Site]:
        """The demo's agencies and sites, made through their services if missing, and
        the windows and devices of each site other than the home hall (DEMO_WINDOWS)."""
        for code, name, short_name in DEMO_AGENCIES:
            if not Agency.objects.filter(code=code).exists():
                site_services.agency_create(
                    code=code, name=name, short_name=short_name, reason="demo set-up"
                )
        sites = {}
        for agency_code, code, name, kind, address, hours, phone, windows in DEMO_SITES:
            agency = Agency.objects.get(code=agency_code)
            site = Site.objects.filter(agency=agency, code=code).first()
            if site is None:
                site = site_services.site_create(
                    agency=agency, code=code, name=name, kind=kind, address=address,
                    opening_hours=hours, phone=phone, reason="demo set-up",
                )  # fmt: skip
            elif not site.address:
                site = site_services.site_update(
                    site_id=site.pk,
                    changes={"address": address, "opening_hours": hours, "phone": phone},
                    changed_by=None,
                    reason="demo set-up",
                )
            sites[agency_code, code] = site
            if windows:
                self._site_equipment(site, windows)
        return sites

    @staticmethod
    def _site_equipment(site: Site, windows: int) -> None:
        """A kiosk, a call display and the comprehensive counter's windows, each with
        its rating pad."""
        for kind, label in ((HallDevice.Kind.KIOSK, "取号机"), (HallDevice.Kind.DISPLAY, "叫号屏")):
            HallDevice.objects.get_or_create(kind=kind, name=f"{site.name}{label}", site=site)
        for number in range(1, windows + 1):
            window, _created = Window.objects.get_or_create(
                site=site, number=number, defaults={"zone": "综合受理区", "queue": Queue.HALL}
            )
            HallDevice.objects.get_or_create(
                kind=HallDevice.Kind.PAD,
                window=window,
                defaults={"name": f"{site.name} 窗口 {number} 评价器", "site": site},
            )

    @transaction.atomic
    def _seed(self) -> list[tuple[str, str]]:
        home = Site.objects.get(agency_id=home_agency_id(), kind=Site.Kind.HALL)
        for kind, name in (
            (HallDevice.Kind.KIOSK, "大厅取号机 1"),
            (HallDevice.Kind.DISPLAY, "叫号屏 1"),
        ):
            HallDevice.objects.get_or_create(kind=kind, name=name, defaults={"site": home})
        for number, zone, queue in DEMO_WINDOWS:
            window, _created = Window.objects.get_or_create(
                site=home, number=number, defaults={"zone": zone, "queue": queue}
            )
            HallDevice.objects.get_or_create(
                kind=HallDevice.Kind.PAD,
                window=window,
                defaults={"name": f"窗口 {number} 评价器", "site": home},
            )
        sites = self._sites()
        lead_group, _created = Group.objects.get_or_create(name=Role.TEAM_LEAD.value)
        lead_group.permissions.add(*Permission.objects.filter(codename__in=TEAM_LEAD_PERMISSIONS))
        admin_group, _created = Group.objects.get_or_create(name=Role.SYSTEM_ADMINISTRATOR.value)
        admin_group.permissions.add(
            *Permission.objects.filter(codename__in=SYSTEM_ADMINISTRATOR_PERMISSIONS)
        )
        people = [(*person, home) for person in DEMO_STAFF] + [
            (*person, sites[agency, site]) for *person, agency, site in DEMO_SITE_STAFF
        ]
        users = get_user_model().objects
        created = []
        for username, name, number, roles, review, approval, team, site in people:
            if users.filter(username=username).exists():
                continue
            password = password_generate(username)
            user = staff_member_create(
                username=username,
                password=password,
                display_name=name,
                employee_number=number,
                roles=roles,
                window_team=team,
                sites=[site],
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
