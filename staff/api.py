"""Each person's notifications over HTTP."""

from drf_spectacular.utils import extend_schema
from rest_framework import serializers
from rest_framework.response import Response
from rest_framework.views import APIView

from staff import services
from staff.selectors import recent_notifications


class NotificationOutput(serializers.Serializer):
    id = serializers.IntegerField(source="pk")
    message = serializers.CharField()
    link = serializers.CharField()
    created_at = serializers.DateTimeField()
    read_at = serializers.DateTimeField(allow_null=True)


class NotificationListApi(APIView):
    @extend_schema(responses={200: NotificationOutput(many=True)})
    def get(self, request):
        return Response(NotificationOutput(recent_notifications(request.user), many=True).data)


class NotificationsReadApi(APIView):
    @extend_schema(request=None, responses={204: None})
    def post(self, request):
        services.notifications_mark_read(recipient=request.user)
        return Response(status=204)
