"""What the security desk lists."""

from django.contrib.auth import get_user_model
from django.db.models import Exists, F, OuterRef, Q, Subquery
from django.utils import timezone

from security_desk.models import SignInCode
from staff.models import PasswordRecord
from staff.scope import scope_of

AWAITING_LISTED = 50


def accounts_awaiting_code(user) -> list:
    """The active accounts of `user`'s agencies (by their sites) whose password someone
    else set, most recent first, each with who set it and when, and whether a code given
    for that password is still open: the people a security administrator may see at the
    desk, and every reset at a glance. At most AWAITING_LISTED."""
    latest = PasswordRecord.objects.filter(user=OuterRef("pk")).order_by("-set_at", "-pk")
    # Open, unexpired, and given for the password in force (annotated below as latest_id).
    open_code = SignInCode.objects.filter(
        user=OuterRef("pk"),
        status=SignInCode.Status.OPEN,
        expires_at__gt=timezone.now(),
        password_record=OuterRef("latest_id"),
    )
    people = get_user_model().objects.filter(
        is_active=True,
        is_superuser=False,
        staff_profile__sites__agency__in=scope_of(user).agency_ids,
    )
    return list(
        people.annotate(
            latest_id=Subquery(latest.values("pk")[:1]),
            set_by_id=Subquery(latest.values("set_by")[:1]),
            set_by_name=Subquery(latest.values("set_by__username")[:1]),
            set_at=Subquery(latest.values("set_at")[:1]),
        )
        .annotate(
            code_open_until=Subquery(open_code.values("expires_at")[:1]),
            code_given=Exists(open_code),
        )
        .filter(Q(set_by_id__isnull=False) & ~Q(set_by_id=F("pk")))
        .exclude(pk=user.pk)
        .distinct()
        .order_by("-set_at")
        .select_related("staff_profile")[:AWAITING_LISTED]
    )
