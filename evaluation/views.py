from django.contrib import messages
from django.contrib.auth import get_user_model
from django.core.exceptions import ObjectDoesNotExist, PermissionDenied, ValidationError
from django.http import Http404, HttpResponse
from django.shortcuts import redirect, render
from django.urls import reverse
from django.utils import timezone
from django.utils.translation import gettext as _
from django.views.decorators.http import require_GET

from catalog import selectors as catalog_selectors
from evaluation import exports, selectors, services
from evaluation.models import COMPONENTS
from evaluation.periods import month_of, month_parse, period_parse
from langzhong_si.db_router import replica_reads
from sites.selectors import person_agency
from staff.decorators import role_required
from staff.roles import Role
from staff.scope import scope_of
from staff.selectors import user_has_role

LIVE_ROLES = (Role.TEAM_LEAD, Role.WINDOW_LEAD)
# The city viewer reads every agency's reports and evaluations (read-only: they only read).
REPORT_ROLES = (Role.TEAM_LEAD, Role.WINDOW_LEAD, Role.AUDITOR, Role.CITY_VIEWER)
EVALUATED_ROLES = (
    Role.TEAM_LEAD,
    Role.WINDOW_LEAD,
    Role.CLERK,
    Role.REVIEWER,
    Role.APPROVER,
    Role.CITY_VIEWER,
)


def _period_from(request):
    """The period asked for, or this month; bad dates give a message and this month."""
    default = month_of(timezone.localdate())
    try:
        return period_parse(request.GET.get("from"), request.GET.get("to"), default=default)
    except ValidationError as error:
        messages.error(request, error.messages[0])
        return default


def _xlsx(content: bytes, filename: str) -> HttpResponse:
    response = HttpResponse(content, content_type=exports.XLSX_CONTENT_TYPE)
    response["Content-Disposition"] = f'attachment; filename="{filename}"'
    return response


@role_required(*LIVE_ROLES)
@require_GET
def dashboard(request):
    return render(request, "evaluation/dashboard.html", selectors.hall_live(viewer=request.user))


@role_required(*LIVE_ROLES)
@require_GET
def dashboard_live(request):
    return render(request, "evaluation/_live.html", selectors.hall_live(viewer=request.user))


@role_required(*REPORT_ROLES)
@require_GET
def report(request):
    period = _period_from(request)
    with replica_reads():
        figures = selectors.period_report(period, viewer=request.user)
    return render(
        request,
        "evaluation/report.html",
        {
            **figures,
            "summary": exports.report_summary_lines(figures),
            "chart_data": _chart_data(figures),
            "presets": _presets(),
        },
    )


@role_required(*REPORT_ROLES)
@require_GET
def report_export(request):
    try:
        period = period_parse(
            request.GET.get("from"), request.GET.get("to"), default=month_of(timezone.localdate())
        )
    except ValidationError as error:
        # No workbook of another period than the one asked for: back to the form, saying why.
        messages.error(request, error.messages[0])
        return redirect("evaluation:report")
    with replica_reads():
        content = exports.report_workbook(selectors.period_report(period, viewer=request.user))
    return _xlsx(content, f"report-{period.first:%Y%m%d}-{period.last:%Y%m%d}.xlsx")


def _chart(labels: list[str], *series: tuple[str, list[int]]) -> dict:
    return {
        "labels": labels,
        "series": [{"label": label, "data": data} for label, data in series],
    }


def _chart_data(figures: dict) -> dict:
    daily, levels = figures["daily"], figures["by_level"]
    categories, ratings = figures["by_category"], figures["ratings"]["by_level"]
    accepted = _("Cases accepted")
    return {
        "daily": _chart(
            [f"{row['day']:%m-%d}" for row in daily],
            (_("Tickets issued"), [row["tickets"] for row in daily]),
            (accepted, [row["accepted"] for row in daily]),
        ),
        "levels": _chart(
            [_("Level %(level)d") % {"level": row["key"]} for row in levels],
            (accepted, [row["n"] for row in levels]),
        ),
        "categories": _chart(
            [row["name"] for row in categories], (accepted, [row["n"] for row in categories])
        ),
        "ratings": _chart(
            [str(row["level"].label) for row in ratings],
            (_("Ratings"), [row["n"] for row in ratings]),
        ),
    }


def _presets() -> list[tuple[str, object]]:
    today = timezone.localdate()
    this_month = month_of(today)
    last_month = month_of(this_month.first - timezone.timedelta(days=1))
    return [
        (_("Today"), period_parse(today.isoformat(), today.isoformat(), default=this_month)),
        (_("This month"), this_month),
        (_("Last month"), last_month),
    ]


# --- Staff evaluation -------------------------------------------------------------------------


def _month_from(request):
    try:
        return month_parse(request.GET.get("month"), default=timezone.localdate())
    except ValidationError as error:
        messages.error(request, error.messages[0])
        return month_of(timezone.localdate())


@role_required(*EVALUATED_ROLES)
@require_GET
def evaluation_list(request):
    period = _month_from(request)
    scope = selectors.evaluation_scope(request.user, period)
    if scope == {request.user.pk}:
        sheet = reverse("evaluation:evaluation_sheet", args=[request.user.pk])
        return redirect(f"{sheet}?month={period.first:%Y-%m}")
    weights = selectors.evaluation_weights_current()
    with replica_reads():
        rows = selectors.staff_evaluation(period, scope=scope, weights=weights)
    return render(
        request,
        "evaluation/evaluation_list.html",
        {
            "period": period,
            "month": f"{period.first:%Y-%m}",
            "rows": rows,
            "weights": weights,
            "component_labels": exports.component_labels(),
            "can_set_weights": user_has_role(request.user, Role.TEAM_LEAD),
        },
    )


@role_required(*EVALUATED_ROLES)
@require_GET
def evaluation_export(request):
    try:
        period = month_parse(request.GET.get("month"), default=timezone.localdate())
    except ValidationError as error:
        messages.error(request, error.messages[0])
        return redirect("evaluation:evaluation_list")
    scope = selectors.evaluation_scope(request.user, period)
    weights = selectors.evaluation_weights_current()
    rows = selectors.staff_evaluation(period, scope=scope, weights=weights)
    return _xlsx(
        exports.evaluation_workbook(rows, period, weights),
        f"evaluation-{period.first:%Y-%m}.xlsx",
    )


@role_required(*EVALUATED_ROLES)
@require_GET
def evaluation_sheet(request, user_id: int):
    """The monthly evaluation sheet of one person, printed for signature."""
    period = _month_from(request)
    scope = selectors.evaluation_scope(request.user, period)
    if scope is not None and user_id not in scope:
        raise PermissionDenied
    weights = selectors.evaluation_weights_current()
    rows = selectors.staff_evaluation(period, scope={user_id}, weights=weights)
    if not rows:
        raise Http404
    person = get_user_model().objects.select_related("staff_profile").get(pk=user_id)
    labels = exports.component_labels()
    return render(
        request,
        "evaluation/evaluation_sheet.html",
        {
            "period": period,
            "month": f"{period.first:%Y-%m}",
            "person": person,
            "agency": person_agency(person),
            "weights": weights,
            "sheets": [
                (
                    row,
                    [
                        (labels[name], getattr(weights, name), row.components.get(name))
                        for name in COMPONENTS
                    ],
                )
                for row in rows
            ],
        },
    )


@role_required(Role.TEAM_LEAD)
def evaluation_weights(request):
    if request.method == "POST":
        try:
            services.evaluation_weights_set(
                lead=request.user,
                weights={name: request.POST.get(name) for name in COMPONENTS},
                reason=request.POST.get("reason", ""),
            )
        except (ValidationError, PermissionDenied) as error:  # another agency's lead, say
            for message in getattr(error, "messages", error.args):
                messages.error(request, message)
        else:
            messages.success(request, _("The new weights apply to every sheet from now on."))
            return redirect("evaluation:evaluation_list")
    weights = selectors.evaluation_weights_current()
    labels = exports.component_labels()
    return render(
        request,
        "evaluation/weights.html",
        {
            "fields": [
                (name, labels[name], request.POST.get(name, getattr(weights, name)))
                for name in COMPONENTS
            ],
            "weights": weights,
        },
    )


@role_required(Role.TEAM_LEAD)
def catalog_offer(request):
    """The items the agency offers: each can be switched off (not handled here) or back
    on, with a reason; the guides, the kiosk and intake follow."""
    if request.method == "POST":
        item_id = request.POST.get("item", "")
        try:
            services.agency_item_switch(
                lead=request.user,
                item_id=int(item_id) if item_id.isdigit() else 0,
                offered=request.POST.get("offered") == "yes",
                reason=request.POST.get("reason", ""),
            )
        except ValidationError as error:
            for message in error.messages:
                messages.error(request, message)
        except ObjectDoesNotExist:
            raise Http404 from None
        else:
            messages.success(request, _("Recorded."))
        return redirect("evaluation:catalog_offer")
    agency_ids = scope_of(request.user).agency_ids
    board = catalog_selectors.item_switch_board(next(iter(agency_ids))) if agency_ids else []
    return render(request, "evaluation/catalog_offer.html", {"board": board})
