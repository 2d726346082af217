from django.urls import path

from inbox import eligibility_views as views

# The namespace of the risk screens these were, so every link stays as it was.
app_name = "risk"
urlpatterns = [
    path("lead/pool/", views.pool, name="pool"),
    path(
        "lead/pool/<int:user_id>/availability/", views.pool_availability, name="pool_availability"
    ),
    path("account/recusal/", views.recusal, name="recusal"),
    path("recusal/declarations/", views.recusal_overview, name="recusal_overview"),
    path(
        "recusal/declarations/<int:user_id>/clear-own-id/",
        views.recusal_own_id_clear,
        name="recusal_own_id_clear",
    ),
]
