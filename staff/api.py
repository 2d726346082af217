"""The security administrator's desk and each person's notifications over HTTP."""

from django.contrib.auth import get_user_model
from drf_spectacular.utils import extend_schema
from rest_framework import serializers
from rest_framework.response import Response
from rest_framework.views import APIView

from staff import services
from staff.api_access import role_permission
from staff.roles import Role
from staff.selectors import recent_notifications


class NotificationOutput(serializers.Serializer):
    id = serializers.IntegerField(source="pk")
    message = serializers.CharField()
    link = serializers.CharField()
    created_at = serializers.DateTimeField()
    read_at = serializers.DateTimeField(allow_null=True)


class RoleChangeInput(serializers.Serializer):
    username = serializers.CharField(max_length=150)
    role = serializers.ChoiceField(choices=Role.choices)
    action = serializers.ChoiceField(choices=["grant", "revoke"])


class UsernameInput(serializers.Serializer):
    username = serializers.CharField(max_length=150)


class RolesOutput(serializers.Serializer):
    username = serializers.CharField()
    roles = serializers.ListField(child=serializers.CharField())


class NotificationListApi(APIView):
    @extend_schema(responses={200: NotificationOutput(many=True)})
    def get(self, request):
        return Response(NotificationOutput(recent_notifications(request.user), many=True).data)


class NotificationsReadApi(APIView):
    @extend_schema(request=None, responses={204: None})
    def post(self, request):
        services.notifications_mark_read(recipient=request.user)
        return Response(status=204)


class RoleChangeApi(APIView):
    permission_classes = [role_permission(Role.SECURITY_ADMINISTRATOR)]

    @extend_schema(request=RoleChangeInput, responses={200: RolesOutput})
    def post(self, request):
        data = RoleChangeInput(data=request.data)
        data.is_valid(raise_exception=True)
        user = get_user_model().objects.get(username=data.validated_data["username"])
        role = Role(data.validated_data["role"])
        if data.validated_data["action"] == "grant":
            services.role_grant(user=user, role=role, granted_by=request.user)
        else:
            services.role_revoke(user=user, role=role, revoked_by=request.user)
        roles = sorted(user.groups.values_list("name", flat=True))
        return Response({"username": user.username, "roles": roles})


class UnlockApi(APIView):
    permission_classes = [role_permission(Role.SECURITY_ADMINISTRATOR)]

    @extend_schema(request=UsernameInput, responses={204: None})
    def post(self, request):
        data = UsernameInput(data=request.data)
        data.is_valid(raise_exception=True)
        services.account_unlock(username=data.validated_data["username"], unlocked_by=request.user)
        return Response(status=204)


class SecondFactorResetApi(APIView):
    permission_classes = [role_permission(Role.SECURITY_ADMINISTRATOR)]

    @extend_schema(request=UsernameInput, responses={204: None})
    def post(self, request):
        data = UsernameInput(data=request.data)
        data.is_valid(raise_exception=True)
        user = get_user_model().objects.get(username=data.validated_data["username"])
        services.second_factor_reset(user=user, reset_by=request.user)
        return Response(status=204)
