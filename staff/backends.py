from django.contrib.auth.backends import ModelBackend

from staff.selectors import user_with_account_state


class StaffModelBackend(ModelBackend):
    """Django's model backend, loading a signed-in person with what every request then
    checks about them (their roles, their password's age and setter: staff.middleware)
    in the one query that reads the account, instead of three. A disabled account, a
    changed role or a new password shows at the very next request: only an unchanged
    poll's empty answer (or its 429) may take the account's copy (operations.pollpath),
    which every such change made through the models marks at once
    (staff.api_access.api_tokens_forget); one that is not (raw SQL, a data migration, a
    person's sites) reaches it within SESSION_CACHE_SECONDS."""

    def get_user(self, user_id):
        user = user_with_account_state(user_id)
        return user if user is not None and self.user_can_authenticate(user) else None
