from functools import partial

from sites.selectors import person_site_name


def staff_site(request):
    """The staff bar's heading (base.html), read only by a page that shows it."""
    user = getattr(request, "user", None)
    if user is None or not user.is_authenticated:
        return {}
    return {"staff_site_name": partial(person_site_name, user)}
