"""Audit event kinds recorded by the review chain: tasks, pools, recusal."""

from django.utils.translation import gettext_lazy as _

from audit.kinds import event_kinds_declare

KINDS = {
    "draw.pool_empty": _("Draw found nobody eligible"),
    "review_task.assigned": _("Task drawn to a person"),
    "review_task.decided": _("Task decided"),
    "review_task.expired": _("Task past its time limit"),
    "review_task.superseded": _("Task superseded by a resubmission"),
    "pool.changed": _("Draw pool changed"),
    "risk_policy.scope_changed": _("Where a review step's pool comes from changed"),
    "qualification.granted": _("Qualification granted"),
    "qualification.revoked": _("Qualification revoked"),
    "staff.availability_changed": _("Availability changed"),
    "staff.leave_recorded": _("Leave recorded"),
    "staff.relative_declared": _("Relative declared"),
    "recusal.own_id_recorded": _("Own ID number recorded for recusal"),
    "recusal.relative_added": _("Relative declared for recusal"),
    "recusal.relative_removed": _("Relative removed from recusal"),
    "recusal.confirmed": _("Recusal declaration confirmed"),
    "recusal.own_id_cleared": _("Own ID number cleared for correction"),
    "recusal.password_refused": _("Wrong password on the recusal page"),
}
event_kinds_declare(KINDS)
