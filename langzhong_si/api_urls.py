from django.urls import path
from drf_spectacular.views import SpectacularAPIView, SpectacularSwaggerSplitView

from appointments import api as appointments_api
from cases import api as cases_api
from catalog import api as catalog_api
from evaluation import api as evaluation_api
from front import api as front_api
from inbox import api as inbox_api
from inspection import api as audit_api
from ratings import api as ratings_api
from security_desk import api as desk_api
from staff import api as staff_api

urlpatterns = [
    path("schema/", SpectacularAPIView.as_view(), name="api-schema"),
    # The split view serves Swagger UI's start-up code as a file: no inline script (CSP).
    path("docs/", SpectacularSwaggerSplitView.as_view(url_name="api-schema"), name="api-docs"),
    # Public: the catalog, the citizen's progress, the window's rating pad.
    path("catalog/categories/", catalog_api.CategoryListApi.as_view(), name="api-categories"),
    path("catalog/items/", catalog_api.ItemListApi.as_view(), name="api-items"),
    path("catalog/items/<str:code>/", catalog_api.ItemGuideApi.as_view(), name="api-item"),
    path("progress/", cases_api.CaseProgressApi.as_view(), name="api-progress"),
    path("rating-pad/", ratings_api.RatingPadApi.as_view(), name="api-rating-pad"),
    path("tickets/<str:token>/", front_api.CitizenTicketApi.as_view(), name="api-ticket"),
    path(
        "tickets/<str:token>/cancel/",
        front_api.CitizenTicketCancelApi.as_view(),
        name="api-ticket-cancel",
    ),
    path(
        "tickets/<str:token>/rating/",
        ratings_api.CitizenRatingApi.as_view(),
        name="api-ticket-rating",
    ),
    # 好差评's loop: the handling of bad ratings and the appeals (申诉).
    *ratings_api.LOOP_URLS,
    # Hall devices (device token).
    path("kiosk/tickets/", front_api.KioskTicketApi.as_view(), name="api-kiosk-tickets"),
    path(
        "kiosk/appointments/check-in/",
        appointments_api.KioskCheckInApi.as_view(),
        name="api-kiosk-appointment-check-in",
    ),
    path("display/", front_api.CallDisplayApi.as_view(), name="api-display"),
    # The clerk's workbench.
    path("counter/", front_api.WorkbenchApi.as_view(), name="api-counter"),
    path("counter/sign-on/", front_api.SignOnApi.as_view(), name="api-sign-on"),
    path("counter/sign-off/", front_api.SignOffApi.as_view(), name="api-sign-off"),
    path("counter/ready/", front_api.ReadyApi.as_view(), name="api-ready"),
    path("counter/pause/", front_api.PauseApi.as_view(), name="api-pause"),
    path("counter/recall/", front_api.RecallApi.as_view(), name="api-recall"),
    path("counter/no-show/", front_api.NoShowApi.as_view(), name="api-no-show"),
    path("counter/finish/", front_api.FinishApi.as_view(), name="api-finish"),
    path("counter/intake/", cases_api.IntakeApi.as_view(), name="api-intake"),
    path("counter/cases/", cases_api.ClerkCaseListApi.as_view(), name="api-cases"),
    path("counter/cases/<int:case_id>/", cases_api.ClerkCaseApi.as_view(), name="api-case"),
    path(
        "counter/cases/<int:case_id>/supply/",
        cases_api.CaseSupplyApi.as_view(),
        name="api-case-supply",
    ),
    path(
        "counter/cases/<int:case_id>/resubmit/",
        cases_api.CaseResubmitApi.as_view(),
        name="api-case-resubmit",
    ),
    path(
        "cases/<int:case_id>/reveal-id/",
        cases_api.CaseRevealIdApi.as_view(),
        name="api-case-reveal-id",
    ),
    # Reviewers and approvers.
    path("inbox/tasks/", inbox_api.InboxListApi.as_view(), name="api-inbox"),
    path("inbox/tasks/<int:task_id>/", inbox_api.InboxTaskApi.as_view(), name="api-inbox-task"),
    path(
        "inbox/tasks/<int:task_id>/decision/",
        inbox_api.InboxDecisionApi.as_view(),
        name="api-inbox-decision",
    ),
    # Window lead and team lead.
    path("lead/queue/", front_api.LeadQueueApi.as_view(), name="api-lead-queue"),
    path(
        "lead/tickets/<int:ticket_id>/confirm-priority/",
        front_api.PriorityConfirmApi.as_view(),
        name="api-priority-confirm",
    ),
    path(
        "lead/tickets/<int:ticket_id>/requeue/",
        front_api.RequeueApi.as_view(),
        name="api-requeue",
    ),
    path("lead/follow-ups/", ratings_api.FollowUpListApi.as_view(), name="api-follow-ups"),
    path(
        "lead/follow-ups/<int:follow_up_id>/",
        ratings_api.FollowUpApi.as_view(),
        name="api-follow-up",
    ),
    path("lead/hall/", evaluation_api.HallNowApi.as_view(), name="api-hall"),
    path("reports/", evaluation_api.ReportApi.as_view(), name="api-report"),
    path("evaluation/", evaluation_api.EvaluationApi.as_view(), name="api-evaluation"),
    path("evaluation/weights/", evaluation_api.WeightsApi.as_view(), name="api-weights"),
    # Auditors and the audit administrator.
    path("audit/findings/", audit_api.FindingListApi.as_view(), name="api-findings"),
    path(
        "audit/findings/<int:finding_id>/inspection/",
        audit_api.FindingInspectionApi.as_view(),
        name="api-finding-inspection",
    ),
    path("audit/log/", audit_api.AuditLogApi.as_view(), name="api-audit-log"),
    # Everyone's notifications; the security administrator's desk.
    path("notifications/", staff_api.NotificationListApi.as_view(), name="api-notifications"),
    path(
        "notifications/read/",
        staff_api.NotificationsReadApi.as_view(),
        name="api-notifications-read",
    ),
    path("security/roles/", desk_api.RoleChangeApi.as_view(), name="api-roles"),
    path("security/unlock/", desk_api.UnlockApi.as_view(), name="api-unlock"),
    path(
        "security/second-factor-reset/",
        desk_api.SecondFactorResetApi.as_view(),
        name="api-second-factor-reset",
    ),
    path("security/sign-in-code/", desk_api.SignInCodeApi.as_view(), name="api-sign-in-code"),
]
