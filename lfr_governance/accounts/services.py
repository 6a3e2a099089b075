from django.contrib.auth.models import Group, User
from django.db import transaction

from lfr_governance.audit.models import Action
from lfr_governance.audit.services import record

from .choices import Role
from .models import Profile, Team
from .roles import role_group_name


@transaction.atomic
def team_get_or_create(*, name: str, description: str = "", actor=None) -> Team:
    team = Team.objects.filter(name=name).first()
    if team is None:
        group = Group.objects.create(name=f"team: {name}")
        team = Team.objects.create(name=name, description=description, group=group)
        record(action=Action.COLLECTION, event="team.create", actor=actor, target=team, changes={"name": name})
    return team


@transaction.atomic
def user_create(
    *,
    username: str,
    password: str,
    first_name: str = "",
    last_name: str = "",
    email: str = "",
    roles: list[str],
    rank: str,
    collar_number: str = "",
    team: Team | None = None,
    actor=None,
) -> User:
    """Creates a person with a profile and role groups. Administrators get the admin site; nobody is superuser."""
    roles = [Role(r) for r in roles]
    user = User.objects.create_user(
        username=username, password=password, first_name=first_name, last_name=last_name, email=email,
        is_staff=Role.ADMINISTRATOR in roles,
    )
    Profile.objects.create(user=user, rank=rank, collar_number=collar_number, team=team)
    user.groups.set(Group.objects.filter(name__in=[role_group_name(r) for r in roles]))
    if team is not None:
        user.groups.add(team.group)
    record(
        action=Action.COLLECTION,
        event="user.create",
        actor=actor,
        target=user,
        changes={"username": username, "roles": [r.value for r in roles], "rank": rank, "team": team.name if team else None},
    )
    return user
