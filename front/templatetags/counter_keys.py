"""The counter keys (F2 ready, F3 call again, F4 no-show, F8 finish, F9 intake) on every
page a clerk signed on to a window opens, not only the workbench (static/js/counter_keys.js
reads the forms this renders)."""

from django import template

from counters import selectors, services

register = template.Library()


@register.inclusion_tag("counters/_counter_keys.html", takes_context=True)
def counter_keys(context):
    request = context.get("request")
    user = getattr(request, "user", None)
    window = selectors.window_of(user) if user is not None and user.is_authenticated else None
    ticket = window.current_ticket if window is not None else None
    return {
        "window": window,
        # The citizen came and a case was opened: a no-show (F4) would be refused, so not shown.
        "citizen_came": ticket is not None and ticket.cases.exists(),
        "csrf_token": context.get("csrf_token"),
        "here": request.get_full_path() if request is not None else "",
    }


@register.inclusion_tag("counters/_no_show_confirm.html")
def no_show_confirm(window):
    """F4's confirmation: the ticket, its calls so far and needed, and from when."""
    ticket = window.current_ticket if window is not None else None
    if ticket is None:
        return {}
    return {
        "ticket": ticket,
        "no_show_recalls": services.no_show_recalls_required(ticket),
        "no_show_at": services.no_show_allowed_at(ticket),
    }
