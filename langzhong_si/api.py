"""What every API view shares: one error shape, role and device permissions, and the
authentication rules. Views call the same services as the screens; the services'
ValidationError and PermissionDenied become 400/409 and 403 here, in one place."""

import threading

from django.core.exceptions import ObjectDoesNotExist, PermissionDenied, ValidationError
from django.http import Http404
from django.utils.translation import gettext as _
from rest_framework import exceptions, serializers, status
from rest_framework.response import Response
from rest_framework.views import exception_handler

from langzhong_si.errors import RefusedAsAbsent, StateConflict

# Refusals raised as plain ValidationError that mean "the state does not allow it now"
# rather than bad input; refusals raised as StateConflict need no entry here.
CONFLICT_CODES = {
    "serving",
    "not_serving",
    "task_closed",
    "not_awaiting",
    "not_done",
    "rated",
    "done",
    "no_window",
    "ticket_closed",
    "ticket_has_case",
    "not_latest",
    "pad_expired",
    "requeued",
    "not_no_show",
    "own_id_recorded",
    "task_superseded",
    "not_returned",
    "case_state",
}


def _body(code: str, message: str, fields: dict | None = None) -> dict:
    error = {"code": code, "message": message}
    if fields:
        error["fields"] = fields
    return {"error": error}


def api_exception_handler(exc, context):
    if isinstance(exc, ValidationError):
        code = getattr(exc, "code", None) or "invalid"
        conflict = isinstance(exc, StateConflict) or code in CONFLICT_CODES
        http = status.HTTP_409_CONFLICT if conflict else status.HTTP_400_BAD_REQUEST
        return Response(_body(code, " ".join(exc.messages)), status=http)
    if isinstance(exc, (ObjectDoesNotExist, Http404, RefusedAsAbsent)):
        return Response(_body("not_found", _("Not found.")), status=status.HTTP_404_NOT_FOUND)
    if isinstance(exc, PermissionDenied):
        message = str(exc) or _("You may not do this.")
        return Response(_body("permission_denied", message), status=status.HTTP_403_FORBIDDEN)
    response = exception_handler(exc, context)
    if response is None:
        return None  # a real bug: Django's 500 page (which shows nothing in production)
    if isinstance(exc, exceptions.ValidationError):
        fields = (
            {key: [str(item) for item in value] for key, value in exc.detail.items()}
            if isinstance(exc.detail, dict)
            else {"non_field_errors": [str(item) for item in exc.detail]}
        )
        response.data = _body("invalid", _("Some fields are not valid."), fields)
    else:
        detail = exc.detail if isinstance(exc, exceptions.APIException) else str(exc)
        code = getattr(detail, "code", None) or getattr(exc, "default_code", "error")
        response.data = _body(str(code), str(detail))
    return response


COMMON_ERRORS = {
    "400": "The request is not valid.",
    "401": "Not signed in.",
    "403": "Not allowed for this role or device.",
    "404": "Not found.",
    "405": "Method not allowed.",
    "409": "Not possible in the current state (for example, nothing is being served).",
    "415": "Unsupported media type.",
    "429": "Too many requests.",
}


def add_common_errors(result, generator, request, public):
    """drf-spectacular post-processing: every operation documents the errors a request
    can meet (bad input, no or wrong credentials, unknown object, a state that does not
    allow it, throttling), all in the one error shape: the one place errors are documented."""
    schemas = result.setdefault("components", {}).setdefault("schemas", {})
    if "Error" not in schemas:
        schemas["Error"] = {
            "type": "object",
            "properties": {
                "error": {
                    "type": "object",
                    "properties": {
                        "code": {"type": "string"},
                        "message": {"type": "string"},
                        "fields": {
                            "type": "object",
                            "additionalProperties": {"type": "array", "items": {"type": "string"}},
                        },
                    },
                    "required": ["code", "message"],
                }
            },
            "required": ["error"],
        }
    reference = {"application/json": {"schema": {"$ref": "#/components/schemas/Error"}}}
    for path_item in result.get("paths", {}).values():
        for operation in path_item.values():
            responses = operation.setdefault("responses", {})
            for code, description in COMMON_ERRORS.items():
                responses.setdefault(code, {"description": description, "content": reference})
    return result


def api_not_found(request, exception=None):
    """404 for unknown API paths in the API's error shape (the HTML page elsewhere)."""
    from django.http import JsonResponse
    from django.views.defaults import page_not_found

    if request.path.startswith("/api/"):
        return JsonResponse(_body("not_found", _("Not found.")), status=404)
    return page_not_found(request, exception)


def api_server_error(request):
    """500 in the API's error shape; never a traceback or internal detail."""
    from django.http import JsonResponse
    from django.views.defaults import server_error

    if request.path.startswith("/api/"):
        message = _("Something went wrong on our side; nothing was changed. Please retry.")
        return JsonResponse(_body("server_error", message), status=500)
    return server_error(request)


class StrictBooleanField(serializers.BooleanField):
    """JSON true or false only (DRF also takes 0, 1, "yes"...: the schema says boolean)."""

    def to_internal_value(self, data):
        if data is True or data is False:
            return data
        self.fail("invalid", input=data)


_templates = threading.local()


# An answer's serializer (read out only, never validating) whose fields are built and
# bound once per class and thread. DRF builds every field of a serializer afresh for each
# one it makes (a deep copy of the declared fields, then binding), which cost more CPU
# than the answer itself on the hall's hot requests. A top-level serializer made without
# a context reads its instance through its class's bound template, exactly as DRF reads
# it (the fields hold no state of an instance); nested, in a list or given a context, it
# is DRF's own. So a subclass changes no field per instance (no __init__, get_fields or
# to_representation of its own) and its get_* methods read only their argument
# (tests/api/test_output_serializers.py). (A comment, not a docstring: the API schema
# would describe every answer without one of its own with it.)
class OutputSerializer(serializers.Serializer):
    def to_representation(self, instance):
        if self.parent is not None or self._context:
            return super().to_representation(instance)
        templates = _templates.__dict__.setdefault("by_class", {})
        template = templates.get(type(self))
        if template is None:
            template = type(self)()
            template.fields  # noqa: B018 - built and bound here, once
            templates[type(self)] = template
        return serializers.Serializer.to_representation(template, instance)
