import logging
import time

from operations.metrics import request_observe

logger = logging.getLogger("langzhong.request")


class RequestLogMiddleware:
    """One JSON log line and one metrics observation per request.

    The line names the URL pattern (`t/<str:token>/`), never the path or query string:
    paths carry ticket tokens and registration links, query strings case numbers."""

    def __init__(self, get_response):
        self.get_response = get_response

    def __call__(self, request):
        began = time.monotonic()
        response = self.get_response(request)
        seconds = time.monotonic() - began
        match = getattr(request, "resolver_match", None)
        view = match.view_name if match else "unmatched"
        route = match.route if match else ""
        user = getattr(request, "user", None)
        request_observe(
            view=view, method=request.method, status=response.status_code, seconds=seconds
        )
        logger.info(
            "%s %s %s",
            request.method,
            view,
            response.status_code,
            extra={
                "event": "request",
                "request_id": getattr(request, "request_id", None),
                "method": request.method,
                "route": route,
                "view": view,
                "status": response.status_code,
                "duration_ms": round(seconds * 1000, 1),
                "user_id": user.pk if user is not None and user.is_authenticated else None,
            },
        )
        return response
