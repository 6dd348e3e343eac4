"""Copies carry their document (copy numbers run per document, across versions and media), so the
database can hold the numbers unique per document. Step 1: the column, filled from each copy's
version. Step 2 (0003) checks the data and adds the constraint."""

import django.db.models.deletion
from django.db import migrations, models
from django.db.models import OuterRef, Subquery


def fill_document(apps, schema_editor):
    Copy = apps.get_model("vault", "Copy")
    DocumentVersion = apps.get_model("vault", "DocumentVersion")
    Copy.objects.filter(document__isnull=True).update(document_id=Subquery(
        DocumentVersion.objects.filter(pk=OuterRef("version_id")).values("document_id")[:1]))


class Migration(migrations.Migration):

    dependencies = [
        ("vault", "0001_documents_versions_copies_custody"),
    ]

    operations = [
        migrations.AddField(
            model_name="copy",
            name="document",
            field=models.ForeignKey(editable=False, null=True, on_delete=django.db.models.deletion.PROTECT,
                                    related_name="copies", to="vault.document"),
        ),
        migrations.RunPython(fill_document, migrations.RunPython.noop),
    ]
