"""Creates demonstration people and records. Idempotent: running it again changes nothing that exists."""

from django.core.management.base import BaseCommand

from tools.demo.deployment import demo_deployment
from tools.demo.finished_deployment import demo_finished_deployment
from tools.demo.people import demo_people
from tools.demo.watchlist import demo_watchlist


class Command(BaseCommand):
    help = "Creates the demonstration users (one per role) and records; safe to run repeatedly."

    def handle(self, *args, **options):
        rows = demo_people()
        demo_watchlist(stdout=self.stdout)
        demo_deployment(stdout=self.stdout)
        demo_finished_deployment(stdout=self.stdout)
        # Random per install, kept in var/demo-logins.txt (0600) so that each start prints them again.
        self.stdout.write("Demo logins (development only; passwords made at random for this install):")
        width = max(len(r[0]) for r in rows)
        for label, username, password in rows:
            self.stdout.write(f"  {label:<{width}}  {username:<10} {password}")
        self.stdout.write(
            "Second factor: at each person's first sign-in the site shows a key (and an otpauth:// address); add it "
            "to an authenticator app (any TOTP app, e.g. on a phone, or `oathtool --totp -b KEY`), enter the "
            "6-digit code, and keep the 10 recovery codes shown once. Every later sign-in asks for a code.")
