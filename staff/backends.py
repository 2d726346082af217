from django.contrib.auth.backends import ModelBackend

from staff.selectors import user_with_account_state


class StaffModelBackend(ModelBackend):
    """Django's model backend, loading a signed-in person with what every request then
    checks about them (their roles, their password's age and setter: staff.middleware)
    in the one query that reads the account, instead of three. Nothing is remembered
    between requests: a disabled account, a changed role or a new password shows at the
    very next request, as before."""

    def get_user(self, user_id):
        user = user_with_account_state(user_id)
        return user if user is not None and self.user_can_authenticate(user) else None
