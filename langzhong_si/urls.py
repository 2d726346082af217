from django.conf import settings
from django.contrib import admin
from django.contrib.auth import views as auth_views
from django.urls import include, path
from django.utils.translation import gettext_lazy as _

from cases import urls as case_urls
from inbox import urls as inbox_urls
from langzhong_si import views
from papers import urls as paper_urls
from scans import urls as scan_urls

# The admin carries the system's name, not Django's.
admin.site.site_header = _("Langzhong SI Service Hall — administration")
admin.site.site_title = _("Langzhong SI Service Hall — administration")
admin.site.index_title = _("Administration")

urlpatterns = [
    path("", views.home, name="home"),
    path("login/", auth_views.LoginView.as_view(), name="login"),
    path("logout/", auth_views.LogoutView.as_view(), name="logout"),
    path("i18n/", include("django.conf.urls.i18n")),
    path("admin/", admin.site.urls),
    path("api/", include("langzhong_si.api_urls")),
    path("", include("catalog.urls")),
    path("", include("devices.urls")),
    path("", include("front.urls")),
    path("", include("ratings.urls")),
    path("", include("staff.urls")),
    path("", include("security_desk.urls")),
    path("", include("inspection.urls")),
    path("", include("draws.urls")),
    path("", include("inbox.eligibility_urls")),
    # One namespace for the case file and the apps split from it, so the names they had
    # inside cases ("cases:inbox", "cases:task_detail", ...) keep working.
    path(
        "",
        include(
            (
                case_urls.urlpatterns
                + inbox_urls.urlpatterns
                + paper_urls.urlpatterns
                + scan_urls.urlpatterns,
                "cases",
            )
        ),
    ),
    path("", include("appointments.urls")),
    path("", include("evaluation.urls")),
    path("", include("reporting.urls")),
    path("", include("operations.urls")),
    path("", include("push.urls")),
]

handler404 = "langzhong_si.api.api_not_found"
handler500 = "langzhong_si.api.api_server_error"

if settings.DEBUG:
    from django.contrib.staticfiles.urls import staticfiles_urlpatterns

    urlpatterns += staticfiles_urlpatterns()
