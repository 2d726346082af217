from django.urls import path

from front import views

# The hall front keeps the "counters" namespace (and its templates keep templates/counters/),
# so every URL name, link and bookmark from before the split still works.
app_name = "counters"
urlpatterns = [
    path("kiosk/", views.kiosk, name="kiosk"),
    path("kiosk/tickets/<int:ticket_id>/", views.ticket_print, name="ticket_print"),
    path("lead/queue/", views.lead_queue, name="lead_queue"),
    path("display/", views.call_display, name="call_display"),
    path("display/calls/", views.call_display_calls, name="call_display_calls"),
    path("counter/", views.workbench, name="workbench"),
    path("counter/panel/", views.workbench_panel, name="workbench_panel"),
    path("counter/sign-on/", views.sign_on, name="sign_on"),
    path("counter/sign-off/", views.sign_off, name="sign_off"),
    path("counter/ready/", views.ready, name="ready"),
    path("counter/pause/", views.pause, name="pause"),
    path("counter/recall/", views.recall, name="recall"),
    path("counter/no-show/", views.no_show, name="no_show"),
    path("counter/finish/", views.finish, name="finish"),
    path("counter/items/", views.item_picker, name="item_picker"),
]
