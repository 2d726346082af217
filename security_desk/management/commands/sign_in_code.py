from django.contrib.auth import get_user_model
from django.core.exceptions import PermissionDenied
from django.core.management.base import BaseCommand, CommandError
from django.utils import timezone

from security_desk.services import sign_in_code_issue


class Command(BaseCommand):
    help = (
        "At set-up, before any security administrator can sign in: give a person the "
        "sign-in code their first password waits for, as the installing superuser "
        "(recorded in the audit log). Afterwards the security administrator gives codes."
    )

    def add_arguments(self, parser):
        parser.add_argument("username", help="the person the code is for")
        parser.add_argument("--by", required=True, help="the installing superuser")

    def handle(self, *args, username: str, by: str, **options):
        users = get_user_model().objects
        issuer = users.filter(username=by, is_superuser=True, is_active=True).first()
        if issuer is None:
            raise CommandError(f"{by} is not an active superuser")
        person = users.filter(username=username).first()
        if person is None:
            raise CommandError(f"no account named {username}")
        try:
            code, expires_at = sign_in_code_issue(user=person, issued_by=issuer, from_server=True)
        except PermissionDenied as error:
            raise CommandError(str(error)) from None
        until = timezone.localtime(expires_at).strftime("%Y-%m-%d %H:%M")
        self.stdout.write(
            f"sign-in code for {username}: {code[:4]} {code[4:]} (once, until {until})"
        )
