"""Create the admin account if there is none: password from WINNOW_ADMIN_PASSWORD or generated."""

import os
import secrets

from django.conf import settings
from django.contrib.auth import get_user_model
from django.core.management.base import BaseCommand


class Command(BaseCommand):
    help = "Create the staff account 'admin' (password from WINNOW_ADMIN_PASSWORD, else generated and printed)."

    def add_arguments(self, parser):
        parser.add_argument("--username", default="admin")

    def handle(self, username, **options):
        User = get_user_model()
        given = os.environ.get("WINNOW_ADMIN_PASSWORD")
        saved = settings.DATA_DIR / "admin_password.txt"
        user = User.objects.filter(username=username).first()
        if user is not None:
            if given:
                user.set_password(given)
                user.save(update_fields=["password"])
                self.stdout.write(f"Admin account {username}: password set from WINNOW_ADMIN_PASSWORD.")
            elif saved.exists():
                self.stdout.write(f"Admin account {username}, password: {saved.read_text().strip()} (from {saved})")
            else:
                self.stdout.write(f"Admin account {username} exists; its password is unchanged.")
            return
        password = given or secrets.token_urlsafe(12)
        User.objects.create_superuser(username=username, email="", password=password)
        if given:
            self.stdout.write(f"Created admin account {username} with the password from WINNOW_ADMIN_PASSWORD.")
        else:
            fd = os.open(saved, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
            with os.fdopen(fd, "w") as handle:
                handle.write(password + "\n")
            self.stdout.write(f"Created admin account {username}, password: {password} (also kept in {saved})")
