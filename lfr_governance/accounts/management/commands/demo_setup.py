"""Creates demonstration people and records. Idempotent: running it again changes nothing that exists."""

from django.contrib.auth.models import User
from django.core.management.base import BaseCommand

from lfr_governance.accounts.choices import Rank, Role
from lfr_governance.accounts.services import team_get_or_create, user_create

DEMO_PASSWORD_SUFFIX = "-demo-2026"

DEMO_PEOPLE = [
    # username, first, last, role, rank, collar
    ("intel", "Priya", "Shah", Role.INTELLIGENCE_OFFICER, Rank.CONSTABLE, "DC4512"),
    ("reviewer", "Tom", "Okafor", Role.REVIEWER, Rank.SERGEANT, "DS2231"),
    ("ao", "Helen", "Marsh", Role.AUTHORISING_OFFICER, Rank.SUPERINTENDENT, "SUPT118"),
    ("operator", "Jamie", "Lee", Role.OPERATOR, Rank.CONSTABLE, "PC7734"),
    ("dpo", "Sam", "Begum", Role.DPO, Rank.CIVILIAN, ""),
    ("admin", "Alex", "Novak", Role.ADMINISTRATOR, Rank.CIVILIAN, ""),
]


def demo_password(username: str) -> str:
    return f"{username}{DEMO_PASSWORD_SUFFIX}"


class Command(BaseCommand):
    help = "Creates the demonstration users (one per role) and records; safe to run repeatedly."

    def handle(self, *args, **options):
        team = team_get_or_create(name="Central Intelligence Unit", description="Demonstration team")
        rows = []
        for username, first, last, role, rank, collar in DEMO_PEOPLE:
            if not User.objects.filter(username=username).exists():
                user_create(
                    username=username, password=demo_password(username), first_name=first, last_name=last,
                    roles=[role], rank=rank, collar_number=collar, team=team,
                )
            rows.append((Role(role).label, username, demo_password(username)))
        from deployments.demo import demo_deployment
        from watchlists.demo import demo_watchlist

        demo_watchlist(stdout=self.stdout)
        demo_deployment(stdout=self.stdout)
        from lfr_governance.retention.demo import demo_finished_deployment

        demo_finished_deployment(stdout=self.stdout)
        self.stdout.write("Demo logins (development only):")
        width = max(len(r[0]) for r in rows)
        for label, username, password in rows:
            self.stdout.write(f"  {label:<{width}}  {username:<10} {password}")
