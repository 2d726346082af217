from functools import cache, partial

from sites.selectors import person_site_name


def staff_site(request):
    """The staff bar's and the admin's heading (base.html, admin/base_site.html), read
    only by a page that shows it, once however often it shows it."""
    user = getattr(request, "user", None)
    if user is None or not user.is_authenticated:
        return {}
    return {"staff_site_name": cache(partial(person_site_name, user))}
