from django.contrib.auth.decorators import login_required
from django.shortcuts import redirect, render

from staff.roles import Role
from staff.selectors import user_roles


@login_required
def home(request):
    """Send each person to the screen of their main role."""
    roles = user_roles(request.user)
    if Role.CLERK in roles:
        return redirect("counters:workbench")
    if Role.REVIEWER in roles or Role.APPROVER in roles:
        return redirect("cases:inbox")
    if Role.AUDITOR in roles:
        return redirect("audit:finding_queue")
    if Role.SECURITY_ADMINISTRATOR in roles:
        return redirect("security_desk:security")
    if Role.AUDIT_ADMINISTRATOR in roles:
        return redirect("audit:audit_log")
    if Role.SYSTEM_ADMINISTRATOR in roles and request.user.is_staff:
        return redirect("admin:index")
    if Role.TEAM_LEAD in roles:
        return redirect("evaluation:dashboard")
    if Role.WINDOW_LEAD in roles:
        return redirect("counters:lead_queue")
    if Role.CITY_VIEWER in roles:
        return redirect("evaluation:report")
    return render(request, "home.html")
