import pytest
from django.contrib.auth.models import Permission
from django.test import Client

from staff.roles import Role
from tests.factories import make_staff, sign_in

SITE_PERMISSIONS = [
    f"{action}_{model}" for action in ("view", "add", "change") for model in ("agency", "site")
]


@pytest.fixture
def sysadmin(db):
    """The system administrator, with the admin permissions the demo gives the role."""
    user = make_staff(Role.SYSTEM_ADMINISTRATOR)
    user.is_staff = True
    user.save(update_fields=["is_staff"])
    user.user_permissions.add(
        *Permission.objects.filter(content_type__app_label="sites", codename__in=SITE_PERMISSIONS)
    )
    return user


@pytest.fixture
def sysadmin_client(sysadmin):
    browser = Client()
    sign_in(browser, sysadmin)
    return browser
