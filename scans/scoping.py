"""The case file seen through staff.scope (its one rule, not another): the cases a person
may open, and the refusal of every write to a read-only (city-level) view. Here, at the
bottom of the case file's apps, so that cases, inbox, papers and inspection share it."""

from functools import wraps

from django.core.exceptions import PermissionDenied
from django.db.models import QuerySet
from django.utils.translation import gettext_lazy as _
from rest_framework.permissions import SAFE_METHODS, BasePermission

from counters.models import Case
from staff.scope import scope_filter, scope_of

READ_ONLY_MESSAGE = _("The city-level view is read-only: it cannot change anything here.")


def cases_in_scope(user) -> QuerySet[Case]:
    """The cases of the person's sites (the whole agency for agency-wide roles, every
    agency for the city viewer). A case outside is looked up as if it did not exist."""
    return scope_filter(Case.objects.all(), user)


def scope_write_check(user) -> None:
    """Refuse any change to a read-only view, with a message saying why."""
    if scope_of(user).read_only:
        raise PermissionDenied(READ_ONLY_MESSAGE)


def scope_writes_refused(view):
    """A view decorator: any request but a read is refused to a read-only view."""

    @wraps(view)
    def wrapped(request, *args, **kwargs):
        if request.method not in SAFE_METHODS:
            scope_write_check(request.user)
        return view(request, *args, **kwargs)

    return wrapped


class ScopeWritable(BasePermission):
    """The API's side of scope_writes_refused."""

    message = READ_ONLY_MESSAGE

    def has_permission(self, request, view):
        return request.method in SAFE_METHODS or not scope_of(request.user).read_only
