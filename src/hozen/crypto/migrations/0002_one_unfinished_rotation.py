"""At most one unfinished key rotation (issue 11): two `hozen keys rotate` started at once must not
both add a KEK version. The existing rows are checked first; two unfinished runs are named."""

from django.db import migrations, models


def check_one_unfinished(apps, schema_editor):
    RotationRun = apps.get_model("crypto", "RotationRun")
    open_runs = list(RotationRun.objects.filter(finished_at__isnull=True).order_by("id").values_list("id", flat=True))
    if len(open_runs) > 1:
        raise RuntimeError(
            f"cannot add the one-unfinished-rotation constraint: rotation runs {', '.join(map(str, open_runs))} are "
            "all unfinished. Finish the latest with `hozen keys rotate`, then mark the older ones finished after "
            "checking `hozen keys status`.")


class Migration(migrations.Migration):

    dependencies = [
        ("crypto", "0001_initial"),
    ]

    operations = [
        migrations.RunPython(check_one_unfinished, migrations.RunPython.noop, elidable=False),
        migrations.AddConstraint(
            model_name="rotationrun",
            constraint=models.UniqueConstraint(models.Value(1, output_field=models.IntegerField()),
                                               condition=models.Q(("finished_at__isnull", True)),
                                               name="one_unfinished_rotation"),
        ),
    ]
