from django.http import Http404, HttpResponse
from django.shortcuts import render
from django.urls import reverse
from django.views.decorators.cache import cache_control
from django.views.decorators.http import require_GET

from catalog import selectors
from catalog.models import ServiceItem
from langzhong_si.hall import hall_contact
from langzhong_si.qr import qr_svg

# The public catalog of service guides: no login, read-only.


@require_GET
def guide_index(request):
    return render(
        request, "catalog/guide_index.html", {"categories": selectors.categories_with_items()}
    )


@require_GET
def guide_search(request):
    query = request.GET.get("q", "")[:50]
    items = list(selectors.catalog_search(query))
    template = (
        "catalog/_search_results.html"
        if request.headers.get("HX-Request")
        else ("catalog/guide_search.html")
    )
    return render(request, template, {"query": query, "items": items})


@require_GET
def guide_detail(request, code: str):
    try:
        item = selectors.item_guide(code)
    except ServiceItem.DoesNotExist:
        raise Http404 from None
    return render(
        request,
        "catalog/guide_detail.html",
        {"item": item, "materials": list(item.materials.all()),
         "estimated": set(item.estimated_fields.split()), "hall": hall_contact()},
    )  # fmt: skip


@require_GET
@cache_control(max_age=3600)
def guide_qr(request, code: str):
    if not ServiceItem.objects.filter(code=code, enabled=True).exists():
        raise Http404
    url = request.build_absolute_uri(reverse("catalog:guide_detail", args=[code]))
    return HttpResponse(qr_svg(url), content_type="image/svg+xml")
