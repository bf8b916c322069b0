"""A django-q2 schedule that fails runs whose worker vanished, once a minute.

The pages and the API also sweep when they read runs; the schedule keeps states true (and the
dashboard's counts right) when nobody is looking.
"""

from django.db import migrations

NAME = "Fail runs whose worker stopped"
FUNC = "webapp.runs.services.fail_stale_runs"


def create(apps, schema_editor):
    Schedule = apps.get_model("django_q", "Schedule")
    Schedule.objects.update_or_create(name=NAME, defaults={"func": FUNC, "schedule_type": "I", "minutes": 1, "repeats": -1})


def remove(apps, schema_editor):
    apps.get_model("django_q", "Schedule").objects.filter(name=NAME).delete()


class Migration(migrations.Migration):
    dependencies = [
        ("runs", "0001_initial"),
        ("django_q", "0019_alter_task_options_alter_ormq_key_alter_ormq_lock_and_more"),
    ]

    operations = [migrations.RunPython(create, remove)]
