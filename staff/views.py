from django.contrib.auth.decorators import login_required
from django.shortcuts import redirect, render
from django.views.decorators.http import require_POST

from staff.selectors import recent_notifications
from staff.services import notifications_mark_read


@login_required
def notifications(request):
    return render(
        request,
        "staff/notifications.html",
        {"notifications": recent_notifications(request.user)},
    )


@require_POST
@login_required
def notifications_read(request):
    notifications_mark_read(recipient=request.user)
    return redirect("staff:notifications")
