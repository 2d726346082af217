from django.urls import path

from security_desk import views
from staff.middleware import SIGN_IN_CODE_PAGE

app_name = "security_desk"
urlpatterns = [
    path("security/", views.security, name="security"),
    # A page of its own, before every other (staff.middleware).
    path(SIGN_IN_CODE_PAGE.lstrip("/"), views.sign_in_code, name="sign_in_code"),
]
