"""The reporting tasks' names, for the outbox and beat (constants next to the tasks)."""

REPORT_DELIVER_TASK = "reporting.tasks.report_deliver"
REPORTS_RETRY_DUE_TASK = "reporting.tasks.reports_retry_due"
