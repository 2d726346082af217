from django.urls import path

from ratings import views

app_name = "ratings"
urlpatterns = [
    path("t/<str:token>/", views.ticket_page, name="ticket_page"),
    path("rating/", views.rating_pad, name="rating_pad"),
    path("rating/poll/", views.rating_pad_poll, name="rating_pad_poll"),
    path("lead/follow-ups/", views.follow_ups, name="follow_ups"),
    path("lead/appeals/", views.appeals, name="appeals"),
    path("counter/my-ratings/", views.my_bad_ratings, name="my_bad_ratings"),
    path("ratings/results/", views.results, name="results"),
]
