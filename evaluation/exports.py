"""Excel workbooks of the period report and the evaluation, built from the same figures
the screens show (one sheet per table)."""

from io import BytesIO

from django.utils.translation import gettext as _
from openpyxl import Workbook
from openpyxl.styles import Font
from openpyxl.utils import get_column_letter

from evaluation.models import COMPONENTS, EvaluationWeights
from evaluation.periods import Period

XLSX_CONTENT_TYPE = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"


def report_summary_lines(report: dict) -> list[tuple[str, object]]:
    """The report's headline figures as (label, value), in reading order."""
    tickets, cases, one_visit = report["tickets"], report["cases"], report["one_visit"]
    ratings, audit, draws = report["ratings"], report["audit"], report["draws"]
    follow_ups, appointments = ratings["follow_ups"], report["appointments"]
    return [
        (_("Tickets issued"), tickets["issued"]),
        (_("Tickets served"), tickets["served"]),
        (_("No-shows"), tickets["no_show"]),
        (_("Cancelled by the citizen"), tickets["cancelled"]),
        (_("Consultations"), tickets["consultations"]),
        (_("Back-office queue tickets"), tickets["back_office"]),
        (_("Average wait (minutes)"), tickets["average_wait"]),
        (_("Average service (minutes)"), tickets["average_service"]),
        (_("Appointments booked"), appointments["booked"]),
        (_("Appointments cancelled"), appointments["cancelled"]),
        (_("Appointments checked in"), appointments["checked_in"]),
        (_("Appointments checked in late (served as walk-ins)"), appointments["checked_in_late"]),
        (_("Appointments not kept (no-show)"), appointments["no_show"]),
        (_("Average wait of booked citizens (minutes)"), appointments["average_wait_booked"]),
        (_("Average wait of walk-in citizens (minutes)"), appointments["average_wait_walk_in"]),
        (_("Applications received"), cases["received"]),
        (_("Notified, not accepted (一次性告知)"), cases["notified"]),
        (_("Cases accepted"), cases["accepted"]),
        (_("Accepted with materials to follow (容缺)"), cases["deferred"]),
        (_("容缺: materials supplied"), cases["deferred_supplied"]),
        (_("容缺: ended, not supplied"), cases["deferred_ended"]),
        (_("Forwarded to the back office"), cases["forwarded"]),
        (_("Finished on the spot"), cases["on_the_spot"]),
        (_("Finished within the time limit"), cases["within_limit"]),
        (_("Finished on the spot or within the limit"), cases["final_in_time"]),
        (_("Finished after the limit"), cases["finished_late"]),
        (_("Open past the limit"), cases["open_overdue"]),
        (_("In progress within the limit"), cases["in_progress"]),
        (_("Approved"), cases["approved"]),
        (_("Rejected"), cases["rejected"]),
        (_("On-time rate (%)"), cases["in_time_rate"]),
        (_("Finished in one visit (最多跑一次)"), one_visit["one_visit"]),
        (_("One-visit rate (%)"), one_visit["rate"]),
        (_("Services rated"), ratings["rated"]),
        (_("Share of services rated (%)"), ratings["rated_rate"]),
        (_("Ratings"), ratings["total"]),
        (_("Satisfaction rate (%)"), ratings["satisfaction_rate"]),
        (_("Bad ratings followed up"), follow_ups["opened"]),
        (_("Follow-ups answered"), follow_ups["replied"]),
        (_("Follow-ups past their reply date"), follow_ups["overdue"]),
        (_("Audit findings"), audit["total"]),
        (_("Findings inspected"), audit["inspected"]),
        (_("Errors and irregularities found"), audit["errors"]),
        (_("Cases sampled for re-inspection"), audit["sampled"]),
        (_("Errors in the sample"), audit["sample_errors"]),
        (_("Draws"), draws["total"]),
        (_("Review and approval tasks"), draws["tasks"]),
        (_("Re-drawn after the time limit"), draws["redrawn"]),
    ]


def _sheet(workbook: Workbook, title: str, headers: list[str], rows: list[list]) -> None:
    sheet = workbook.create_sheet(title=title[:31])
    sheet.append(headers)
    for cell in sheet[1]:
        cell.font = Font(bold=True)
    for row in rows:
        sheet.append(row)
    for index, header in enumerate(headers, 1):
        width = max([len(str(header))] + [len(str(row[index - 1])) for row in rows[:200]])
        sheet.column_dimensions[get_column_letter(index)].width = min(60, max(10, width + 4))
    sheet.freeze_panes = "A2"


def _bytes(workbook: Workbook) -> bytes:
    buffer = BytesIO()
    workbook.save(buffer)
    return buffer.getvalue()


def report_workbook(report: dict) -> bytes:
    workbook = Workbook()
    workbook.remove(workbook.active)
    period: Period = report["period"]
    _sheet(
        workbook,
        _("Summary"),
        [_("Figure"), str(period)],
        [[label, value] for label, value in report_summary_lines(report)],
    )
    _sheet(
        workbook,
        _("Daily"),
        [_("Day"), _("Tickets issued"), _("Cases accepted")],
        [[row["day"], row["tickets"], row["accepted"]] for row in report["daily"]],
    )
    _sheet(
        workbook,
        _("By risk level"),
        [_("Risk level"), _("Cases accepted")],
        [[row["key"], row["n"]] for row in report["by_level"]],
    )
    kinds = {
        "person": _("Persons"),
        "employer": _("Employers (单位)"),
        "agent": _("Through an agent (代办人, either kind)"),
    }
    _sheet(
        workbook,
        _("By applicant"),
        [_("Applicant"), _("Received"), _("Cases accepted"), _("On-time rate (%)"), _("帮办代办")],
        [
            [kinds[row["kind"]], row["received"], row["accepted"], row["in_time_rate"],
             row["assisted"]]
            for row in report["by_applicant"]
        ],
    )  # fmt: skip
    _sheet(
        workbook,
        _("By category"),
        [_("Category"), _("Cases accepted")],
        [[row["name"], row["n"]] for row in report["by_category"]],
    )
    _sheet(
        workbook,
        _("Top items"),
        [_("Code"), _("Item"), _("Cases accepted")],
        [[row["code"], row["name"], row["n"]] for row in report["top_items"]],
    )
    _sheet(
        workbook,
        _("Ratings"),
        [_("Level"), _("Ratings")],
        [[str(row["level"].label), row["n"]] for row in report["ratings"]["by_level"]],
    )
    _sheet(
        workbook,
        _("Audit"),
        [_("Rule"), _("Findings"), _("Not yet inspected"), _("No issue"), _("Errors")],
        [
            [row["label"], row["total"], row["open"], row["no_issue"], row["errors"]]
            for row in report["audit"]["by_rule"]
        ],
    )
    _sheet(
        workbook,
        _("Draws"),
        [_("Purpose"), _("Draws")],
        [[str(row["label"]), row["n"]] for row in report["draws"]["by_purpose"]],
    )
    _sheet(
        workbook,
        _("By site"),
        [_("Agency code"), _("Agency"), _("Site code"), _("Site"), _("Tickets issued"),
         _("Cases accepted"), _("On-time rate (%)"), _("Ratings"), _("Satisfaction rate"),
         _("Bad ratings")],
        [
            [row["agency_code"], row["agency"], row["site_code"], row["site"], row["tickets"],
             row["accepted"], row["in_time_rate"], row["ratings"], row["satisfaction_rate"],
             row["bad"]]
            for row in report["by_site"]
        ],
    )  # fmt: skip
    return _bytes(workbook)


def component_labels() -> dict[str, str]:
    return {name: str(EvaluationWeights._meta.get_field(name).verbose_name) for name in COMPONENTS}


def evaluation_headers() -> list[str]:
    return [
        _("Employee number"),
        _("Name"),
        _("Kind"),
        _("Volume"),
        _("Cases accepted"),
        _("Average minutes"),
        _("On-time rate (%)"),
        _("Satisfaction rate (%)"),
        _("Returns received"),
        _("Rejections received"),
        _("Re-drawn for absence"),
        _("Audit errors"),
        *component_labels().values(),
        _("Score"),
    ]


def evaluation_row_values(row) -> list:
    from evaluation.selectors import Kind

    return [
        row.employee_number,
        row.name,
        _("Clerk") if row.kind == Kind.CLERK else _("Reviewer / approver"),
        row.volume,
        row.cases_accepted,
        row.average_minutes,
        row.on_time_rate,
        row.satisfaction_rate,
        row.returns,
        row.rejections,
        row.expired,
        row.audit_errors,
        *[row.components.get(name) for name in COMPONENTS],
        row.score,
    ]


def evaluation_workbook(rows: list, period: Period, weights: EvaluationWeights) -> bytes:
    workbook = Workbook()
    workbook.remove(workbook.active)
    _sheet(
        workbook,
        _("Evaluation"),
        evaluation_headers(),
        [evaluation_row_values(row) for row in rows],
    )
    labels = component_labels()
    _sheet(
        workbook,
        _("Weights"),
        [_("Component"), _("Weight")],
        [[labels[name], getattr(weights, name)] for name in COMPONENTS]
        + [[_("Period"), str(period)]],
    )
    return _bytes(workbook)
