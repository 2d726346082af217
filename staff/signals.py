"""Account events: the session's sign-in time (absolute lifetime), superuser sign-ins
and lockouts in the audit log, and role changes, however they are made (services,
admin, shell): incompatible roles (三员分立, auditor against the business posts,
integration accounts) refused, the acting person's right checked, every grant and
revocation recorded once, and a change to who can be drawn announced to the apps above
(risk records the pools before and after)."""

import contextvars
import time
from contextlib import contextmanager

from axes.signals import user_locked_out
from django.contrib.auth import get_user_model
from django.contrib.auth.models import Group
from django.contrib.auth.signals import user_logged_in
from django.db import transaction
from django.db.models.signals import m2m_changed, post_delete, post_save
from django.dispatch import Signal, receiver

from audit.models import AuditEvent
from audit.services import audit_event_record
from staff import services  # a module reference: services imports this module too
from staff.api_access import api_tokens_forget
from staff.middleware import SIGNED_IN_AT
from staff.models import ApiToken, PasswordRecord, StaffProfile
from staff.roles import DRAWN_ROLES, Role

ROLE_NAMES = set(Role.values)
DRAWN = {role.value for role in DRAWN_ROLES}

# Sent around every change of an account that may change who can be drawn (activation,
# the reviewer or approver role), inside its transaction, with keyword arguments
# actor, user, change, reason and state: one dict shared by both sends, where a receiver
# keeps what it measured before (risk keeps the pool sizes). staff cannot import risk.
eligibility_changing = Signal()
eligibility_changed = Signal()


@contextmanager
def eligibility_change(*, actor, user, change: str, reason: str = ""):
    state: dict = {}
    arguments = {"actor": actor, "user": user, "change": change, "reason": reason}
    eligibility_changing.send(sender=get_user_model(), state=state, **arguments)
    yield
    eligibility_changed.send(sender=get_user_model(), state=state, **arguments)


# Who is changing roles right now (the services and the admin set it): their right is
# checked, and the events name them. Unset (None) in set-up scripts and migrations.
_role_actor: contextvars.ContextVar = contextvars.ContextVar("staff_role_actor", default=None)


@contextmanager
def roles_changed_by(actor):
    token = _role_actor.set(actor)
    try:
        yield
    finally:
        _role_actor.reset(token)


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


def _memberships_changing(instance, action: str, pk_set, reverse: bool) -> list[tuple]:
    """The (user, group name) memberships this m2m change really adds or removes:
    Django announces removals of groups the user does not hold, too."""
    if reverse:  # group.user_set.add/remove/clear: each user gains or loses `instance`
        users = get_user_model().objects.all()
        if action == "pre_add":
            users = users.filter(pk__in=pk_set)
        else:
            users = instance.user_set.all()
            if action == "pre_remove":
                users = users.filter(pk__in=pk_set)
        return [(user, instance.name) for user in users.order_by("pk")]
    groups = Group.objects.all() if action == "pre_add" else instance.groups.all()
    if action != "pre_clear":
        groups = groups.filter(pk__in=pk_set)
    return [(instance, name) for name in groups.order_by("name").values_list("name", flat=True)]


@receiver(m2m_changed, sender=get_user_model().groups.through)
def _roles_changed(sender, instance, action, pk_set, reverse, **kwargs):
    if action.startswith("pre_"):
        _roles_changing(instance, action, pk_set, reverse)
        return
    pending = instance.__dict__.pop("_staff_role_changes", None)
    if pending is None:
        return
    changes, announced = pending
    actor = _role_actor.get()
    event_type = "role.granted" if action == "post_add" else "role.revoked"
    for user, name in changes:
        user._role_cache = None
        api_tokens_forget(user_id=user.pk)
        if name in ROLE_NAMES:
            audit_event_record(event_type=event_type, actor=actor, obj=user, data={"role": name})
    for arguments, state in announced:
        eligibility_changed.send(sender=get_user_model(), state=state, **arguments)


def _roles_changing(instance, action, pk_set, reverse) -> None:
    # Left over from a change whose write failed after its pre_ signal: never record it.
    instance.__dict__.pop("_staff_role_changes", None)
    if action not in ("pre_add", "pre_remove", "pre_clear"):
        return
    if action != "pre_clear" and not pk_set:
        return
    changes = _memberships_changing(instance, action, pk_set, reverse)
    if not changes:
        return
    actor = _role_actor.get()
    users = {user.pk: user for user, _name in changes}
    for user in users.values():
        services.role_manager_check(actor, user, action="role_change")
        if action == "pre_add":
            added = {name for holder, name in changes if holder.pk == user.pk}
            services.roles_compatible_check(set(user.groups.values_list("name", flat=True)) | added)
    verb = "granted" if action == "pre_add" else "revoked"
    announced = []
    for user, name in changes:
        if name in DRAWN:
            arguments = {"actor": actor, "user": user, "change": f"role_{verb}:{name}",
                         "reason": ""}  # fmt: skip
            state: dict = {}
            eligibility_changing.send(sender=get_user_model(), state=state, **arguments)
            announced.append((arguments, state))
    instance._staff_role_changes = (changes, announced)


@receiver(post_save, sender=get_user_model())
@receiver(post_delete, sender=get_user_model())
def _account_changed(sender, instance, **kwargs):
    # Deactivation, a password set, superuser status: an API token remembered for the
    # account must be checked afresh at its next request.
    api_tokens_forget(user_id=instance.pk)


@receiver(post_save, sender=ApiToken)
@receiver(post_delete, sender=ApiToken)
@receiver(post_save, sender=PasswordRecord)
@receiver(post_delete, sender=StaffProfile)  # its sites gone: no key works (api_token_refusal)
def _token_or_password_changed(sender, instance, **kwargs):
    api_tokens_forget(user_id=instance.user_id)


@receiver(m2m_changed, sender=StaffProfile.sites.through)
def _sites_changed(sender, instance, action, reverse, **kwargs):
    # A person's sites (staff.services.staff_sites_set): their remembered keys forgotten
    # and their account's copy marked (what they may see changed). A site's deletion takes
    # its rows with no signal: a remembered key sees it within API_TOKEN_CACHE_SECONDS.
    if action.startswith("post_") and not reverse:
        api_tokens_forget(user_id=instance.user_id)
