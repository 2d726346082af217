"""Incompatible roles already held: 0005 and 0007 refuse new memberships, but
an account that held, say, auditor and clerk before them keeps both. This migration
stops on such accounts and names them with their pairs; the operator revokes one role of
each pair (the security page) and migrates again. The pairs are frozen here, as in 0007;
a test checks them against staff.roles.INCOMPATIBLE_ROLES."""

from django.db import migrations

PAIRS = [
    ("approver", "auditor"),
    ("approver", "integration"),
    ("audit_administrator", "integration"),
    ("audit_administrator", "security_administrator"),
    ("audit_administrator", "system_administrator"),
    ("auditor", "clerk"),
    ("auditor", "integration"),
    ("auditor", "reviewer"),
    ("auditor", "team_lead"),
    ("integration", "reviewer"),
    ("integration", "security_administrator"),
    ("integration", "system_administrator"),
    ("integration", "team_lead"),
    ("integration", "window_lead"),
    ("security_administrator", "system_administrator"),
]
ROLE_NAMES = sorted({name for pair in PAIRS for name in pair})
MESSAGE = (
    "Accounts hold incompatible roles; revoke one role of each pair, then migrate again: "
)


def clashes(apps) -> list[str]:
    """'username: first + second' for every incompatible pair an account holds."""
    membership = apps.get_model("auth", "User")._meta.get_field("groups").remote_field.through
    held: dict[str, set[str]] = {}
    rows = membership.objects.filter(group__name__in=ROLE_NAMES).values_list(
        "user__username", "group__name"
    )
    for username, name in rows:
        held.setdefault(username, set()).add(name)
    return [
        f"{username}: {first} + {second}"
        for username, names in sorted(held.items())
        for first, second in PAIRS
        if first in names and second in names
    ]


def forwards(apps, schema_editor):
    found = clashes(apps)
    if found:
        raise RuntimeError(MESSAGE + "; ".join(found))


class Migration(migrations.Migration):
    dependencies = [("staff", "0007_incompatible_roles_in_database")]
    operations = [migrations.RunPython(forwards, migrations.RunPython.noop)]
