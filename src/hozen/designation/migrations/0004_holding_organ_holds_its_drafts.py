"""The holding organ gets its holder row from the draft on (services.add_holding_organ), so the
`designation.view` scope of the organ roles is one semi-join on the holder table. Existing drafts
(and any designation missing the row) get theirs here; approval created it for the others."""

from django.db import migrations
from django.db.models import Exists, OuterRef


def add_holder_rows(apps, schema_editor):
    Designation = apps.get_model("designation", "Designation")
    Holder = apps.get_model("designation", "Holder")
    own = Holder.objects.filter(designation=OuterRef("pk"), organisation_id=OuterRef("organisation_id"))
    missing = Designation.objects.filter(~Exists(own)).values_list("pk", "organisation_id", "designated_on")
    Holder.objects.bulk_create(
        [Holder(designation_id=pk, organisation_id=org, since=on) for pk, org, on in missing.iterator()],
        batch_size=1000, ignore_conflicts=True)


class Migration(migrations.Migration):

    dependencies = [
        ("designation", "0003_list_order_index"),
    ]

    operations = [
        # Reversing leaves the rows: they are true (the organ holds its drafts) and harmless.
        migrations.RunPython(add_holder_rows, migrations.RunPython.noop),
    ]
