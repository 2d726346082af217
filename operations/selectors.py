import datetime

from django.conf import settings
from django.utils import timezone
from django.utils.translation import gettext as _

from operations.drill import restore_drill_last
from operations.health import check_beat, check_worker


def hall_banner() -> list[str]:
    """What the team lead must know now about the machinery behind the hall."""
    problems = []
    if not check_worker().ok:
        problems.append(
            _(
                "The background worker is not running: reviewers are not drawn and time "
                "limits do not fire."
            )
        )
    if not check_beat().ok:
        problems.append(
            _("The scheduler (beat) is not running: re-draws, time limits and nightly jobs stop.")
        )
    drill = restore_drill_last()
    overdue = timezone.now() - datetime.timedelta(days=settings.RESTORE_DRILL_MAX_AGE_DAYS)
    if drill is None or drill.occurred_at < overdue:
        problems.append(_("No restore drill has passed recently: backups are unproven."))
    elif not drill.passed:
        problems.append(_("The last restore drill failed: the backups may not restore."))
    return problems
