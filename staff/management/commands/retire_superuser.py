from django.core.exceptions import ValidationError
from django.core.management.base import BaseCommand, CommandError

from staff.services import superuser_retire


class Command(BaseCommand):
    help = (
        "After installation: retire a superuser (no longer superuser or staff, disabled, "
        "no usable password), recorded in the audit log."
    )

    def add_arguments(self, parser):
        parser.add_argument("--username", help="the superuser to retire (asked if not given)")

    def handle(self, *args, username: str | None, **options):
        if not username:
            try:
                username = input("Superuser to retire: ").strip()
            except EOFError:
                raise CommandError("name the superuser with --username") from None
        try:
            superuser_retire(username=username)
        except ValidationError as error:
            raise CommandError(error.messages[0]) from None
        self.stdout.write(f"{username} is retired: no longer superuser, disabled.")
