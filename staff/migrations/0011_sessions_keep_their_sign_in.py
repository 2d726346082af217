"""Sessions signed in before staff.backends.StaffModelBackend name Django's ModelBackend,
which is no longer listed: Django would sign every such person out at their next request.
Their sessions now name the backend that replaced it (the same accounts, the same check)."""

from django.db import migrations

OLD = "django.contrib.auth.backends.ModelBackend"
NEW = "staff.backends.StaffModelBackend"


def sessions_backend_rename(apps, schema_editor, *, old=OLD, new=NEW):
    from django.contrib.auth import BACKEND_SESSION_KEY
    from django.contrib.sessions.backends.db import SessionStore

    Session = apps.get_model("sessions", "Session")
    store = SessionStore()
    for session in Session.objects.only("session_key", "session_data").iterator():
        data = store.decode(session.session_data)
        if data.get(BACKEND_SESSION_KEY) == old:
            data[BACKEND_SESSION_KEY] = new
            Session.objects.filter(pk=session.pk).update(session_data=store.encode(data))


def sessions_backend_restore(apps, schema_editor):
    sessions_backend_rename(apps, schema_editor, old=NEW, new=OLD)


class Migration(migrations.Migration):
    dependencies = [
        ("staff", "0010_city_viewer_a_role_of_its_own"),
        ("sessions", "0001_initial"),
    ]

    operations = [migrations.RunPython(sessions_backend_rename, sessions_backend_restore)]
