from django.contrib import messages
from django.core.exceptions import PermissionDenied, ValidationError
from django.http import Http404
from django.shortcuts import redirect, render
from django.utils.translation import gettext as _
from django.views.decorators.http import require_GET, require_POST

from cases import selectors as case_selectors
from cases import services
from cases.forms import CorrectionForm
from cases.services import IntakeRepeated
from catalog.models import ServiceItem
from counters import selectors as counter_selectors
from counters.models import Case
from front.forms import IntakeForm, PauseForm
from front.views import workbench_intake_context
from langzhong_si.clientip import client_ip
from risk.selectors import conflict_of_interest
from scans.scoping import scope_writes_refused
from scans.services import VettedScan
from scans.uploads import upload_check
from staff.decorators import role_required
from staff.roles import Role
from staff.selectors import user_has_role

# --- The case file: intake at the workbench, the case page, scans, the citizen's progress --


def _messages_from(request, error: ValidationError) -> None:
    for message in error.messages:
        messages.error(request, message)


@require_POST
@scope_writes_refused
@role_required(Role.CLERK)
def intake(request):
    window = counter_selectors.window_of(request.user)
    if window is None or window.current_ticket is None:
        messages.error(request, _("No ticket is being served at your window."))
        return redirect("counters:workbench")
    item = ServiceItem.objects.filter(pk=request.POST.get("item") or 0, enabled=True).first()
    materials = list(item.materials.all()) if item else []
    form = IntakeForm(
        request.POST,
        materials=materials,
        item=item,
        staff=counter_selectors.assisting_staff_choices(request.user),
    )
    if item is not None and form.is_valid():
        try:
            scans = _vetted_scans(request, [material.pk for material in materials])
            case = services.case_accept(
                clerk=request.user,
                item_id=item.pk,
                applicant_name=form.cleaned_data["applicant_name"],
                id_number=form.cleaned_data["id_number"],
                received_material_ids=set(form.cleaned_data["materials"]),
                applicant_phone=form.cleaned_data["applicant_phone"],
                scans=scans,
                defer_missing=form.cleaned_data["defer_missing"],
                intake_token=form.cleaned_data["intake_token"],
                **_intake_parties(form.cleaned_data),
            )
        except IntakeRepeated as repeated:
            messages.warning(request, repeated.messages[0])
            return redirect("cases:case_detail", case_id=repeated.case.pk)
        except ValidationError as error:
            _messages_from(request, error)
        else:
            messages.success(
                request,
                _("Case %(number)s: %(status)s.")
                % {"number": case.number, "status": case.get_status_display()},
            )
            return redirect("cases:case_detail", case_id=case.pk)
    elif item is None:
        messages.error(request, _("Choose the service item."))
    if request.FILES:
        # A browser never fills a file field in again: say so, rather than lose them quietly.
        messages.warning(request, _("Nothing was saved: choose the scans again."))
    context = {"window": window, "recent_cases": counter_selectors.clerk_recent_cases(request.user)}
    request.GET = request.GET.copy()
    request.GET["item"] = str(item.pk) if item else ""
    context.update(workbench_intake_context(request, window.current_ticket, form if item else None))
    context["pause_form"] = PauseForm()
    return render(request, "counters/workbench.html", context, status=400)


def _intake_parties(data: dict) -> dict:
    """The intake form's block of who applies, as case_accept takes it."""
    employer = agent = None
    if data.get("applicant_kind") == Case.ApplicantKind.EMPLOYER:
        employer = services.Employer(credit_code=data["credit_code"], name=data["employer_name"])
    if data.get("via_agent"):
        agent = services.Agent(
            name=data["agent_name"],
            id_number=data["agent_id_number"],
            relation=data["agent_relation"],
        )
    return {
        "employer": employer,
        "agent": agent,
        "authorisation_received": bool(agent and data.get("authorisation_received")),
        "assisting_staff_id": data.get("assisting_staff") if data.get("assisted") else None,
    }


def _vetted_scans(request, material_ids: list[int]) -> list[VettedScan]:
    """Each material's scans (field scan-<material id>) and the supplementary ones
    (field scans), vetted and stripped. Only their content goes on, never their names."""
    fields = [(f"scan-{material_id}", material_id) for material_id in material_ids]
    return [
        VettedScan(material_id=material_id, content=content, content_type=kind)
        for field, material_id in [*fields, ("scans", None)]
        for upload in request.FILES.getlist(field)
        for content, kind in [upload_check(upload)]
    ]


def counter_case(request, case_id: int) -> Case:
    """The case as the counter sees it (cases.selectors.clerk_case), or a 404."""
    try:
        return case_selectors.clerk_case(clerk=request.user, case_id=case_id)
    except Case.DoesNotExist:
        raise Http404 from None


def _refused(request, error: ValidationError | PermissionDenied) -> None:
    if isinstance(error, ValidationError):
        _messages_from(request, error)
    else:
        messages.error(request, str(error) or _("You may not do this."))


@role_required(Role.CLERK, Role.WINDOW_LEAD)
def case_detail(request, case_id: int, correction_form: CorrectionForm | None = None):
    """The case page, for any clerk (a window lead reads it from a notification): its
    state, the reasons of a return or rejection, who did what at the counter, and what
    a clerk may do next. Opening another clerk's case is recorded."""
    case = counter_case(request, case_id)
    services.case_opened(viewer=request.user, case=case)
    missing = [row for row in case.checklist if row["required"] and not row["received"]]
    recused = bool(conflict_of_interest(user=request.user, case=case))
    may_act = user_has_role(request.user, Role.CLERK)
    context = {
        "case": case,
        "missing": missing,
        **case_selectors.case_progress_for_clerk(case=case),
        **case_selectors.case_chain_reasons(case=case),
        "history": case_selectors.case_history(case=case),
        "recused": recused,
        "may_act": may_act and not recused,
        "paper": case_selectors.case_paper_kind(case),
    }
    if case.status == Case.Status.RETURNED and context["may_act"]:
        context["correction_form"] = correction_form or CorrectionForm(case=case)
    status = 400 if correction_form is not None else 200
    return render(request, "cases/case_detail.html", context, status=status)


@require_GET
@role_required(Role.CLERK)
def case_search(request):
    """Any clerk finds a case: by its number, the ID number's last 4-6 characters or the
    applicant's name. Results show the ID number masked; each search is recorded."""
    query = request.GET.get("q", "")
    result = services.case_search(clerk=request.user, query=query)
    return render(request, "cases/case_search.html", {"search": result})


@require_POST
@scope_writes_refused
@role_required(Role.CLERK)
def case_supply(request, case_id: int):
    counter_case(request, case_id)
    ids = {int(value) for value in request.POST.getlist("materials") if value.isdigit()}
    try:
        case = services.case_materials_supplied(
            clerk=request.user, case_id=case_id, material_ids=ids
        )
    except (ValidationError, PermissionDenied) as error:
        _refused(request, error)
    else:
        messages.success(request, case.get_status_display())
    return redirect("cases:case_detail", case_id=case_id)


@require_POST
@scope_writes_refused
@role_required(Role.CLERK)
def case_correct(request, case_id: int):
    """Correct a returned case: the applicant's details, the materials ticked, more scans.
    A refused correction shows the form again with everything typed."""
    case = counter_case(request, case_id)
    form = CorrectionForm(request.POST, case=case)
    if form.is_valid():
        try:
            services.case_correct(
                clerk=request.user,
                case_id=case.pk,
                applicant_name=form.cleaned_data["applicant_name"],
                applicant_phone=form.cleaned_data["applicant_phone"],
                id_number=form.cleaned_data["id_number"],
                received_material_ids=set(form.cleaned_data["materials"]),
                scans=_vetted_scans(request, [row["material_id"] for row in case.checklist]),
            )
        except (ValidationError, PermissionDenied) as error:
            _refused(request, error)
        else:
            messages.success(
                request, _("The corrections were saved. Resubmit the case when it is complete.")
            )
            return redirect("cases:case_detail", case_id=case.pk)
    if request.FILES:
        messages.warning(request, _("Nothing was saved: choose the scans again."))
    return case_detail(request, case_id, correction_form=form)


@require_POST
@scope_writes_refused
@role_required(Role.CLERK)
def case_resubmit(request, case_id: int):
    counter_case(request, case_id)
    try:
        services.case_resubmit(clerk=request.user, case_id=case_id)
    except (ValidationError, PermissionDenied) as error:
        _refused(request, error)
    else:
        messages.success(request, _("Resubmitted. The case is under review again."))
    return redirect("cases:case_detail", case_id=case_id)


def progress(request):
    """The citizen's progress page: case number plus the ID number's last four characters.
    Only failed look-ups count against the limits (cases.selectors.case_for_citizen_limited)."""
    context = {}
    number = request.GET.get("case", "")[:20]
    suffix = request.GET.get("id4", "")[:8]
    if number or suffix:
        try:
            case = case_selectors.case_for_citizen_limited(
                number=number, id_suffix=suffix, client=client_ip(request)
            )
        except case_selectors.ProgressLookupsExhausted:
            context["error"] = _("Too many failed look-ups. Please try again later.")
            return render(request, "cases/progress.html", context, status=429)
        if case is None:
            context["error"] = _("No case matches this number and ID number ending.")
        else:
            context.update(counter_selectors.case_public_progress(case))
    context.update(number=number)
    return render(request, "cases/progress.html", context)
