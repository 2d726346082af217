import os
from urllib.parse import unquote, urlsplit

from django.core.management.base import BaseCommand, CommandError
from django.db import connection

from audit.database_roles import RoleRefused, app_role_ensure


class Command(BaseCommand):
    help = (
        "Run by the tables' owner (or a superuser) after every migrate: create or update the "
        "application's login role, with INSERT and SELECT only on the audit log and no power "
        "to alter it. The role and password come from --app-role/--password or from the "
        "user and password of --app-url (default: the APP_DATABASE_URL variable)."
    )

    def add_arguments(self, parser):
        parser.add_argument("--app-url", default=os.environ.get("APP_DATABASE_URL", ""))
        parser.add_argument("--app-role", default="")
        parser.add_argument("--password", default="")

    def handle(self, *args, app_url: str, app_role: str, password: str, **options):
        if app_url:
            url = urlsplit(app_url)
            database = url.path.lstrip("/")
            if database and database != connection.settings_dict["NAME"]:
                raise CommandError(
                    f"the application's URL names database {database!r}, "
                    f"but this command runs on {connection.settings_dict['NAME']!r}"
                )
            app_role = app_role or unquote(url.username or "")
            password = password or unquote(url.password or "")
        if not app_role:
            raise CommandError("name the application's role: --app-role or --app-url")
        try:
            done = app_role_ensure(role=app_role, password=password or None)
        except RoleRefused as refusal:
            raise CommandError(str(refusal)) from refusal
        for line in done:
            self.stdout.write(line)
