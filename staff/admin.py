from django.contrib import admin
from simple_history.admin import SimpleHistoryAdmin

from staff.models import StaffProfile


@admin.register(StaffProfile)
class StaffProfileAdmin(SimpleHistoryAdmin):
    list_display = [
        "employee_number",
        "display_name",
        "window_team",
        "availability",
    ]
    list_filter = ["availability"]
    search_fields = ["employee_number", "display_name"]
