"""Load the shipped rules packs (jp-esi-2025, jp-sds) through the same loader and validator the
publish service uses (issue 5 §1). Rows are written directly with the historical models: there is
no actor in a migration, so no audit entry is written for these two; `published_by` records the
migration by value. Idempotent per (code, version)."""

from django.db import migrations


def load(apps, schema_editor):
    from hozen.rules.storage import load_shipped

    load_shipped(apps.get_model("rules", "RulesPack"), apps.get_model("rules", "Category"),
                 apps.get_model("rules", "SubItem"),
                 published_by={"kind": "system", "name": "migration rules.0002_shipped_packs", "channel": "migration"})


class Migration(migrations.Migration):
    dependencies = [("rules", "0001_initial")]

    operations = [migrations.RunPython(load, migrations.RunPython.noop, elidable=False)]
