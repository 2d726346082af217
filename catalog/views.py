from django.http import Http404, HttpResponse
from django.shortcuts import render
from django.urls import reverse
from django.views.decorators.cache import cache_control
from django.views.decorators.http import require_GET

from catalog import selectors
from catalog.models import ServiceItem
from langzhong_si.qr import qr_svg
from sites.models import Site
from sites.selectors import agency_hall, site_contact

# The public catalog of service guides: no login, read-only. Each page shows one
# agency's offered items: the agency its `?agency=` code names, else the home agency.


def _agency_context(request) -> dict:
    """The page's agency, and the query that keeps it on the page's own links."""
    code = request.GET.get("agency", "")
    agency = selectors.public_agency(code)
    return {"agency": agency, "agency_query": f"?agency={agency.code}" if code else ""}


def _agency_contact(agency) -> dict:
    """Where the agency's hall is (an agency without one yet: its name, nothing else)."""
    hall = agency_hall(agency_id=agency.pk) or Site(name="")
    hall.agency = agency  # read already
    return site_contact(hall)


@require_GET
def guide_index(request):
    context = _agency_context(request)
    categories = selectors.categories_with_items(context["agency"].pk)
    return render(request, "catalog/guide_index.html", {**context, "categories": categories})


@require_GET
def guide_search(request):
    context = _agency_context(request)
    query = request.GET.get("q", "")[:50]
    items = list(selectors.catalog_search(query, agency_id=context["agency"].pk))
    template = (
        "catalog/_search_results.html"
        if request.headers.get("HX-Request")
        else ("catalog/guide_search.html")
    )
    return render(request, template, {**context, "query": query, "items": items})


@require_GET
def guide_detail(request, code: str):
    context = _agency_context(request)
    try:
        item = selectors.item_guide(code, agency_id=context["agency"].pk)
    except ServiceItem.DoesNotExist:
        raise Http404 from None
    return render(
        request,
        "catalog/guide_detail.html",
        {**context, "item": item, "materials": list(item.materials.all()),
         "estimated": set(item.estimated_fields.split()),
         "hall": _agency_contact(context["agency"])},
    )  # fmt: skip


@require_GET
@cache_control(max_age=3600)
def guide_qr(request, code: str):
    context = _agency_context(request)
    if not selectors.items_offered(context["agency"].pk).filter(code=code).exists():
        raise Http404
    url = reverse("catalog:guide_detail", args=[code]) + context["agency_query"]
    return HttpResponse(qr_svg(request.build_absolute_uri(url)), content_type="image/svg+xml")
