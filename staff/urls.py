from django.urls import path

from staff import views

app_name = "staff"
urlpatterns = [
    path("notifications/", views.notifications, name="notifications"),
    path("notifications/read/", views.notifications_read, name="notifications_read"),
    path("account/", views.account, name="account"),
    path("account/two-factor/", views.two_factor, name="two_factor"),
    path("account/password/", views.PasswordChangeView.as_view(), name="password_change"),
    path("api-tokens/", views.api_tokens, name="api_tokens"),
]
