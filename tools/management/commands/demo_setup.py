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
        self.stdout.write("Demo logins (development only):")
        width = max(len(r[0]) for r in rows)
        for label, username, password in rows:
            self.stdout.write(f"  {label:<{width}}  {username:<10} {password}")
