"""Visitor keys "s:<session key>" become opaque "v:..." keys (movie.visitor_rekey),
in the sessions, the SQL click log and the outbox; no history is lost."""

from django.conf import settings
from django.db import migrations

from movie.visitor_rekey import LEGACY_PREFIX, LegacyKeyMap


DATABASE_SESSION_ENGINES = (
    "django.contrib.sessions.backends.db",
    "pseudorec.session_store",
)


def rekey(apps, schema_editor):
    ClickEvent = apps.get_model("movie", "ClickEvent")
    OutboxEvent = apps.get_model("movie", "OutboxEvent")
    Session = apps.get_model("sessions", "Session")
    key_map = LegacyKeyMap(Session)
    # Django's database sessions, or the site's engine that reads them (a cached
    # engine would keep stale copies of the rows this rewrites).
    if settings.SESSION_ENGINE in DATABASE_SESSION_ENGINES:
        key_map.rekey_sessions()
    old_keys = set(
        ClickEvent.objects.filter(user_key__startswith=LEGACY_PREFIX)
        .values_list("user_key", flat=True)
        .distinct()
    )
    for old in old_keys:
        ClickEvent.objects.filter(user_key=old).update(user_key=key_map(old))
    for row in OutboxEvent.objects.filter(user_key__startswith=LEGACY_PREFIX):
        row.user_key = key_map(row.user_key)
        row.payload = {**row.payload, "user_key": row.user_key}
        row.save(update_fields=["user_key", "payload"])


class Migration(migrations.Migration):
    dependencies = [
        ("movie", "0002_outbox"),
        ("sessions", "0001_initial"),
    ]

    operations = [migrations.RunPython(rekey, migrations.RunPython.noop)]
