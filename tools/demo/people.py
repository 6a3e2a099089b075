"""Demo people: one user per role in one team, with development-only passwords."""

from django.contrib.auth.models import User

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


def demo_people() -> list[tuple[str, str, str]]:
    """Creates the people that do not exist yet; (role label, username, password) for each."""
    team = team_get_or_create(name="Central Intelligence Unit", description="Demonstration team")
    rows = []
    for username, first, last, role, rank, collar in DEMO_PEOPLE:
        if not User.objects.filter(username=username).exists():
            user_create(
                username=username, password=demo_password(username), first_name=first, last_name=last,
                roles=[role], rank=rank, collar_number=collar, team=team,
            )
        rows.append((Role(role).label, username, demo_password(username)))
    return rows
