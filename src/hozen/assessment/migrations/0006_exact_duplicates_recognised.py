"""Exact duplicates recognised (issue 12 §5): a keyed digest of the encrypted text of inquiries,
complaints and adverse-treatment reports, so the same record made twice (a double click, a retry)
is refused without decrypting earlier ones. Rows made before this migration have no digest and are
never taken for duplicates."""

from django.db import migrations, models


class Migration(migrations.Migration):

    dependencies = [
        ('assessment', '0005_integrity_under_concurrency'),
    ]

    operations = [
        migrations.AddField(
            model_name='adversetreatmentreport',
            name='text_digest',
            field=models.CharField(blank=True, editable=False, max_length=64),
        ),
        migrations.AddField(
            model_name='complaint',
            name='text_digest',
            field=models.CharField(blank=True, editable=False, max_length=64),
        ),
        migrations.AddField(
            model_name='inquiry',
            name='content_digest',
            field=models.CharField(blank=True, editable=False, max_length=64),
        ),
    ]
