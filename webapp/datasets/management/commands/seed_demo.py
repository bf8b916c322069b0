"""The demo: scikit-learn's digits as a dataset with predictions, and a coral run on them."""

import io
import tempfile
from pathlib import Path

from django.conf import settings
from django.contrib.auth import get_user_model
from django.core.files.uploadedfile import SimpleUploadedFile
from django.core.management.base import BaseCommand, CommandError

from selection_engine.formats.archive import zip_folder
from selection_engine.synthetic import write_digit_predictions, write_digits

from ...models import Dataset
from ...services import save_dataset, test_connection
from ...uploads import receive_upload

DEMO_NAME = "Digits demo"
TASK = "digits-classifier"


class Command(BaseCommand):
    help = "Write the digits demo dataset (real images, with predictions) and queue a coral run on it."

    def add_arguments(self, parser):
        parser.add_argument("--username", default="admin")
        parser.add_argument("--no-run", action="store_true", help="Only create the dataset.")

    def handle(self, username, no_run, **options):
        from webapp.runs.services import schedule_run

        user = get_user_model().objects.filter(username=username).first()
        if user is None:
            raise CommandError(f"No user {username}: run `manage.py ensure_admin` first.")
        dataset = Dataset.objects.filter(owner=user, name=DEMO_NAME).first()
        if dataset is None:
            folder = settings.DATASOURCE_ROOTS[0] / "demo-digits"
            names, _ = write_digits(folder)
            dataset = save_dataset(Dataset(
                owner=user, name=DEMO_NAME, source_type=Dataset.LOCAL, path=str(folder),
                description="scikit-learn's 1,797 handwritten digits (32 px), with predictions of a "
                            "logistic regression trained on 50 of them.",
            ))
            with tempfile.TemporaryDirectory() as tmp:
                accuracy = write_digit_predictions(Path(tmp), names, task=TASK)
                archive = io.BytesIO()
                zip_folder(Path(tmp), archive)  # the client's packing: .lightly/predictions/...
                upload = receive_upload(dataset, user, SimpleUploadedFile("digits-predictions.zip", archive.getvalue()))
            if not upload.accepted:
                raise CommandError(f"The demo predictions were rejected: {upload.report[:3]}")
            self.stdout.write(f"Demo dataset: {len(names)} digits in {folder}; the demo model is {accuracy:.0%} accurate.")
        else:
            test_connection(dataset)
            self.stdout.write(f"Demo dataset exists ({dataset.path}).")
        if no_run or dataset.runs.exists():
            return
        run = schedule_run(
            user, dataset,
            worker_config={
                "method": "coral",
                "stopping_condition": {"n_samples": 100},
                "active_learning": {"task_name": TASK, "score_name": "uncertainty_margin"},
            },
            lightly_config={"collate": {"input_size": 32}, "loader": {"num_workers": 0}},
        )
        self.stdout.write(f"Queued demo run {run.pk}: coral, 100 of the digits.")
