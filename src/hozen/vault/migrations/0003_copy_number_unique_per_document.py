"""One copy number per document, in the database (issue 11: uniqueness in the database, not only in
code). The numbers were unique only per version in the schema, though the code numbers copies per
document; before the constraint is added, the existing data is checked and any document whose
copies share a number is named, so the operator can correct it rather than meet an opaque error."""

import django.db.models.deletion
from django.db import migrations, models
from django.db.models import Count


class CopyNumbersRepeat(Exception):
    """Existing copies break the new constraint: the migration stops and names them."""


def check_copy_numbers(apps, schema_editor):
    Copy = apps.get_model("vault", "Copy")
    repeats = list(Copy.objects.values("document_id", "number").annotate(n=Count("id")).filter(n__gt=1)
                   .order_by("document_id", "number")[:50])
    missing = list(Copy.objects.filter(document__isnull=True).values_list("pk", flat=True)[:50])
    problems = []
    for row in repeats:
        ids = sorted(Copy.objects.filter(document_id=row["document_id"], number=row["number"])
                     .values_list("pk", flat=True))
        problems.append(f"document {row['document_id']}: copy number {row['number']} is held by copies "
                        f"{', '.join(map(str, ids))}")
    if missing:
        problems.append(f"copies without a document: {', '.join(map(str, missing))}")
    if problems:
        raise CopyNumbersRepeat(
            "vault_one_copy_number_per_document cannot be added; renumber these copies (and record why) "
            "first:\n  " + "\n  ".join(problems))


class Migration(migrations.Migration):

    dependencies = [
        ("vault", "0002_copy_document"),
    ]

    operations = [
        migrations.RunPython(check_copy_numbers, migrations.RunPython.noop),
        migrations.AlterField(
            model_name="copy",
            name="document",
            field=models.ForeignKey(editable=False, on_delete=django.db.models.deletion.PROTECT,
                                    related_name="copies", to="vault.document"),
        ),
        migrations.RemoveConstraint(
            model_name="copy",
            name="vault_one_number_per_copy",
        ),
        migrations.AddConstraint(
            model_name="copy",
            constraint=models.UniqueConstraint(fields=("document", "number"),
                                               name="vault_one_copy_number_per_document"),
        ),
    ]
