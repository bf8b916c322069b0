"""Print a new API token for a user (for scripts and operations)."""

from django.contrib.auth import get_user_model
from django.core.exceptions import ValidationError
from django.core.management.base import BaseCommand, CommandError

from ...services import create_token


class Command(BaseCommand):
    help = "Create an API token for USERNAME and print it (only the token, on one line; it is not shown again)."

    def add_arguments(self, parser):
        parser.add_argument("username")
        parser.add_argument("--name", default="", help="What the token is for (shown on the user's settings page).")

    def handle(self, username, name, **options):
        user = get_user_model().objects.filter(username=username).first()
        if user is None:
            raise CommandError(f"No user named {username!r}.")
        if not user.is_active:
            raise CommandError(f"The user {username!r} is inactive; a token would be refused.")
        try:
            _, token = create_token(user, name or "created by manage.py create_api_token")
        except ValidationError as exc:
            raise CommandError(f"--name: {' '.join(exc.message_dict['name'])}") from None
        self.stdout.write(token)
