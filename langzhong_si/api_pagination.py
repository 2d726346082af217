"""Paging that refuses a malformed limit or offset instead of silently ignoring it."""

from rest_framework.exceptions import ValidationError
from rest_framework.pagination import LimitOffsetPagination


class StrictLimitOffsetPagination(LimitOffsetPagination):
    max_limit = 500

    def _checked(self, request, name):
        raw = request.query_params.getlist(name)
        if not raw:
            return
        if len(raw) > 1 or not raw[0].isdigit():
            raise ValidationError({name: ["A whole number, given once."]})

    def get_limit(self, request):
        self._checked(request, self.limit_query_param)
        return super().get_limit(request)

    def get_offset(self, request):
        self._checked(request, self.offset_query_param)
        return super().get_offset(request)
