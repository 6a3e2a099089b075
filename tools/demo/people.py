"""Demo people: one user per role in one team, each with a random password made when the user is created.

Passwords are stored hashed, so the demo keeps a copy in var/demo-logins.txt (0600), one
'<database name> <username> <password>' line per person and database (the test database and the development one
differ), for `make run` to print them again on every start.
"""

import fcntl
import os
import secrets
from contextlib import contextmanager
from pathlib import Path

from django.conf import settings
from django.contrib.auth.models import User
from django.db import connection

from lfr_governance.accounts.choices import Rank, Role
from lfr_governance.accounts.services import team_get_or_create, user_create


DEMO_PEOPLE = [
    # username, first, last, role, rank, collar
    ("intel", "Priya", "Shah", Role.INTELLIGENCE_OFFICER, Rank.CONSTABLE, "DC4512"),
    ("reviewer", "Tom", "Okafor", Role.REVIEWER, Rank.SERGEANT, "DS2231"),
    ("ao", "Helen", "Marsh", Role.AUTHORISING_OFFICER, Rank.SUPERINTENDENT, "SUPT118"),
    ("operator", "Jamie", "Lee", Role.OPERATOR, Rank.CONSTABLE, "PC7734"),
    ("dpo", "Sam", "Begum", Role.DPO, Rank.CIVILIAN, ""),
    ("admin", "Alex", "Novak", Role.ADMINISTRATOR, Rank.CIVILIAN, ""),
]


def _logins_file() -> Path:
    return Path(settings.BASE_DIR) / "var" / "demo-logins.txt"


@contextmanager
def _locked_logins():
    """The stored logins of every database, under a lock: test runs on other databases share the file."""
    path = _logins_file()
    path.parent.mkdir(parents=True, exist_ok=True)
    fd = os.open(path, os.O_RDWR | os.O_CREAT, 0o600)
    with os.fdopen(fd, "r+", encoding="utf-8") as f:
        fcntl.flock(f, fcntl.LOCK_EX)
        logins = {}
        for line in f.read().splitlines():
            parts = line.split(maxsplit=2)
            if len(parts) == 3:
                logins[(parts[0], parts[1])] = parts[2].strip()
        yield logins
        f.seek(0)
        f.truncate()
        f.write("".join(f"{db} {user} {password}\n" for (db, user), password in logins.items()))
    path.chmod(0o600)


def demo_password(username: str) -> str:
    """This database's copy of the demo person's password, or "" when there is none."""
    with _locked_logins() as logins:
        return logins.get((connection.settings_dict["NAME"], username), "")


def demo_people() -> list[tuple[str, str, str]]:
    """Creates the people that do not exist yet; (role label, username, password) for each."""
    team = team_get_or_create(name="Central Intelligence Unit", description="Demonstration team")
    database = connection.settings_dict["NAME"]
    rows = []
    with _locked_logins() as logins:
        for username, first, last, role, rank, collar in DEMO_PEOPLE:
            if not User.objects.filter(username=username).exists():
                password = secrets.token_urlsafe(12)
                user_create(
                    username=username, password=password, first_name=first, last_name=last,
                    roles=[role], rank=rank, collar_number=collar, team=team,
                )
                logins[(database, username)] = password
            shown = logins.get((database, username)) or (
                f"not available ({_logins_file()} has no copy for this database: "
                f"reset it with `manage.py changepassword {username}`)")
            rows.append((Role(role).label, username, shown))
    return rows
