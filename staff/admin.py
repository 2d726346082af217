from django.contrib import admin
from simple_history.admin import SimpleHistoryAdmin

from staff.models import StaffProfile


@admin.register(StaffProfile)
class StaffProfileAdmin(SimpleHistoryAdmin):
    list_display = [
        "employee_number",
        "display_name",
        "window_team",
        "review_level",
        "approval_level",
        "availability",
    ]
    list_filter = ["availability", "review_level", "approval_level"]
    search_fields = ["employee_number", "display_name"]
