"""`AuditEntry.subject_person_id`: a filter copy of `details.subject_person_id`, and two partial indexes.

Built to run while the service runs (ARCHITECTURE: no planned downtime), on a log of 100 million
entries: the column is nullable (no table rewrite); entries written before it get the copy from
their own canonical bytes in batches of primary-key ranges (only the actions that name a person;
the canonical bytes are untouched); the indexes are built CONCURRENTLY on
PostgreSQL so audit writers never wait for them. Hence `atomic = False`.
"""

import json

from django.db import migrations, models

# The actions that put `subject_person_id` in their details before this column existed
# (hozen.crypto.services: reveal and shred).
_NAMING_A_PERSON = ("personal_data.read", "data_key.shredded")
_STEP = 10_000  # ids per batch: a primary-key range, so the whole pass is linear in the log's size


def copy_subject_person_id(apps, schema_editor):
    AuditEntry = apps.get_model("audit", "AuditEntry")
    bounds = AuditEntry.objects.aggregate(low=models.Min("pk"), high=models.Max("pk"))
    if bounds["low"] is None:
        return
    quote = schema_editor.connection.ops.quote_name
    update = f"UPDATE {quote(AuditEntry._meta.db_table)} SET {quote('subject_person_id')} = %s WHERE {quote('id')} = %s"
    for start in range(bounds["low"] - 1, bounds["high"], _STEP):
        batch = AuditEntry.objects.filter(pk__gt=start, pk__lte=start + _STEP, action__in=_NAMING_A_PERSON,
                                          subject_person_id__isnull=True).values_list("pk", "data")
        changed = []
        for pk, data in batch:
            value = (json.loads(data).get("details") or {}).get("subject_person_id")
            if isinstance(value, int) and not isinstance(value, bool):
                changed.append((value, pk))
        if changed:  # executemany: one round trip per batch with psycopg 3, far cheaper than bulk_update
            with schema_editor.connection.cursor() as cursor:
                cursor.executemany(update, changed)


class AddIndexOnline(migrations.AddIndex):
    """AddIndex, but CREATE INDEX CONCURRENTLY on PostgreSQL (writers keep writing meanwhile)."""

    def database_forwards(self, app_label, schema_editor, from_state, to_state):
        model = to_state.apps.get_model(app_label, self.model_name)
        if not self.allow_migrate_model(schema_editor.connection.alias, model):
            return
        if schema_editor.connection.vendor == "postgresql":
            schema_editor.add_index(model, self.index, concurrently=True)
        else:
            schema_editor.add_index(model, self.index)

    def database_backwards(self, app_label, schema_editor, from_state, to_state):
        model = from_state.apps.get_model(app_label, self.model_name)
        if not self.allow_migrate_model(schema_editor.connection.alias, model):
            return
        if schema_editor.connection.vendor == "postgresql":
            schema_editor.remove_index(model, self.index, concurrently=True)
        else:
            schema_editor.remove_index(model, self.index)


class Migration(migrations.Migration):

    atomic = False

    dependencies = [
        ("audit", "0002_merkle_tree"),
    ]

    operations = [
        migrations.AddField(
            model_name="auditentry",
            name="subject_person_id",
            field=models.BigIntegerField(blank=True, editable=False, null=True),
        ),
        migrations.RunPython(copy_subject_person_id, migrations.RunPython.noop, elidable=True),
        AddIndexOnline(
            model_name="auditentry",
            index=models.Index(condition=models.Q(("subject_person_id__isnull", False)),
                               fields=["subject_person_id", "id"], name="audit_entry_subject_person"),
        ),
        AddIndexOnline(
            model_name="auditentry",
            index=models.Index(condition=models.Q(("outcome__in", ["denied", "failure"])),
                               fields=["outcome", "time", "id"], name="audit_entry_not_success"),
        ),
    ]
