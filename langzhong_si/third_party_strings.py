"""Strings of Django's admin and of django-axes that their own zh_Hans catalogs lack
(Django 5.2's newer admin texts; axes ships no Chinese). Marked here so makemessages keeps
them in the project's catalog, which translates them (LOCALE_PATHS comes first)."""

from django.utils.translation import gettext_noop

STRINGS = [
    # django.contrib.admin (app list, user add form)
    gettext_noop("Model name"),
    gettext_noop("Add link"),
    gettext_noop("Change or view list link"),
    gettext_noop("After you’ve created a user, you’ll be able to edit more user options."),
    # django-axes (its models and admin)
    gettext_noop("access attempt"),
    gettext_noop("access attempts"),
    gettext_noop("access failure"),
    gettext_noop("access failures"),
    gettext_noop("access log"),
    gettext_noop("access logs"),
    gettext_noop("User Agent"),
    gettext_noop("IP Address"),
    gettext_noop("HTTP Accept"),
    gettext_noop("Path"),
    gettext_noop("Attempt Time"),
    gettext_noop("Logout Time"),
    gettext_noop("Meta Data"),
    gettext_noop("Form Data"),
    gettext_noop("GET Data"),
    gettext_noop("POST Data"),
    gettext_noop("Failed Logins"),
    gettext_noop("Access lock out"),
    gettext_noop("Expires At"),
    gettext_noop("Access Attempt"),
    gettext_noop("Attempt Remaining"),
    gettext_noop("Locked Out"),
    gettext_noop("Not set"),
    gettext_noop("Session key hash (sha256)"),
    gettext_noop("access attempt expiration"),
    gettext_noop("access attempt expirations"),
    gettext_noop("The time when access attempt expires and is no longer valid."),
    gettext_noop("Clean up expired attempts"),
    # django-simple-history (the history page's column)
    gettext_noop("Changes"),
]
