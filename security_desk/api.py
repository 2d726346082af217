"""The security administrator's desk over HTTP: roles, lockouts, second factors and
sign-in codes."""

from django.contrib.auth import get_user_model
from drf_spectacular.utils import extend_schema
from rest_framework import serializers
from rest_framework.response import Response
from rest_framework.views import APIView

from security_desk.services import sign_in_code_issue
from staff import services
from staff.api_access import role_permission
from staff.roles import Role


class RoleChangeInput(serializers.Serializer):
    username = serializers.CharField(max_length=150)
    role = serializers.ChoiceField(choices=Role.choices)
    action = serializers.ChoiceField(choices=["grant", "revoke"])


class UsernameInput(serializers.Serializer):
    username = serializers.CharField(max_length=150)


class RolesOutput(serializers.Serializer):
    username = serializers.CharField()
    roles = serializers.ListField(child=serializers.CharField())


class SignInCodeOutput(serializers.Serializer):
    username = serializers.CharField()
    code = serializers.CharField()
    expires_at = serializers.DateTimeField()


def _validated(serializer_class, request) -> dict:
    """The request's body checked by `serializer_class` (400 when it does not pass)."""
    data = serializer_class(data=request.data)
    data.is_valid(raise_exception=True)
    return data.validated_data


class RoleChangeApi(APIView):
    permission_classes = [role_permission(Role.SECURITY_ADMINISTRATOR)]

    @extend_schema(request=RoleChangeInput, responses={200: RolesOutput})
    def post(self, request):
        data = _validated(RoleChangeInput, request)
        user = get_user_model().objects.get(username=data["username"])
        role = Role(data["role"])
        if data["action"] == "grant":
            services.role_grant(user=user, role=role, granted_by=request.user)
        else:
            services.role_revoke(user=user, role=role, revoked_by=request.user)
        roles = sorted(user.groups.values_list("name", flat=True))
        return Response({"username": user.username, "roles": roles})


class UnlockApi(APIView):
    permission_classes = [role_permission(Role.SECURITY_ADMINISTRATOR)]

    @extend_schema(request=UsernameInput, responses={204: None})
    def post(self, request):
        username = _validated(UsernameInput, request)["username"]
        services.account_unlock(username=username, unlocked_by=request.user)
        return Response(status=204)


def _person_named(request):
    """The account the request's `username` names (404 when none)."""
    return get_user_model().objects.get(username=_validated(UsernameInput, request)["username"])


class SecondFactorResetApi(APIView):
    permission_classes = [role_permission(Role.SECURITY_ADMINISTRATOR)]

    @extend_schema(request=UsernameInput, responses={204: None})
    def post(self, request):
        services.second_factor_reset(user=_person_named(request), reset_by=request.user)
        return Response(status=204)


class SignInCodeApi(APIView):
    """A new sign-in code for a person, in this answer only (not stored, not cached)."""

    permission_classes = [role_permission(Role.SECURITY_ADMINISTRATOR)]

    @extend_schema(request=UsernameInput, responses={201: SignInCodeOutput})
    def post(self, request):
        user = _person_named(request)
        code, expires_at = sign_in_code_issue(user=user, issued_by=request.user)
        output = {"username": user.username, "code": code, "expires_at": expires_at}
        return Response(
            SignInCodeOutput(output).data, status=201, headers={"Cache-Control": "no-store"}
        )
