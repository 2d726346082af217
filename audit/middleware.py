from audit.context import RequestContext, reset_request_context, set_request_context
from audit.refusals import refusals_recorded_after
from langzhong_si.clientip import client_ip
from langzhong_si.requestid import request_id_accept


class RequestContextMiddleware:
    def __init__(self, get_response):
        self.get_response = get_response

    def __call__(self, request):
        # A proxy's id is kept only if it is plainly an id (langzhong_si.requestid).
        request_id = request_id_accept(request.headers.get("X-Request-ID"))
        request.request_id = request_id
        # The same client address as the throttles: X-Forwarded-For is believed only
        # from a configured trusted proxy.
        token = set_request_context(
            RequestContext(request_id=request_id, source_ip=client_ip(request) or None)
        )
        try:
            # A refusal met in the view is written after it (its transaction rolled back).
            with refusals_recorded_after():
                response = self.get_response(request)
        finally:
            reset_request_context(token)
        response["X-Request-ID"] = request_id
        return response
