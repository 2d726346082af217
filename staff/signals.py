"""Account events: the session's sign-in time (absolute lifetime), superuser sign-ins
and lockouts in the audit log, and incompatible roles (三员分立, auditor against the
business posts, integration accounts) refused on every change of a user's groups,
however it is made (services, admin, shell)."""

import time

from axes.signals import user_locked_out
from django.contrib.auth import get_user_model
from django.contrib.auth.models import Group
from django.contrib.auth.signals import user_logged_in
from django.db import transaction
from django.db.models.signals import m2m_changed
from django.dispatch import receiver

from audit.models import AuditEvent
from audit.services import audit_event_record
from staff.middleware import SIGNED_IN_AT
from staff.roles import INCOMPATIBLE_ROLES
from staff.services import roles_compatible_check

CONSTRAINED = {role.value for pair in INCOMPATIBLE_ROLES for role in pair}


@receiver(user_logged_in)
def _session_started(sender, request, user, **kwargs):
    if request is not None and hasattr(request, "session"):
        request.session[SIGNED_IN_AT] = time.time()
    if user.is_superuser:
        with transaction.atomic():
            audit_event_record(event_type="auth.superuser_signed_in", actor=user, obj=user)


@receiver(user_locked_out)
def _locked_out(sender, request, username=None, ip_address=None, **kwargs):
    with transaction.atomic():
        audit_event_record(
            event_type="auth.locked_out",
            outcome=AuditEvent.Outcome.REFUSED,
            data={"username": str(username or "")[:150]},
        )


@receiver(m2m_changed, sender=get_user_model().groups.through)
def _roles_stay_compatible(sender, instance, action, pk_set, reverse, **kwargs):
    if action != "pre_add" or not pk_set:
        return
    if reverse:  # group.user_set.add(...): each user gains `instance`
        if instance.name not in CONSTRAINED:
            return
        for user in get_user_model().objects.filter(pk__in=pk_set):
            held = set(user.groups.values_list("name", flat=True)) | {instance.name}
            roles_compatible_check(held)
        return
    added = set(Group.objects.filter(pk__in=pk_set).values_list("name", flat=True))
    roles_compatible_check(set(instance.groups.values_list("name", flat=True)) | added)
