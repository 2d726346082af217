from staff.selectors import user_roles


def staff_roles(request):
    return {"user_roles": user_roles(request.user) if hasattr(request, "user") else set()}
