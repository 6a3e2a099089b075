"""Writes about people: each one transaction with its audit row (README "People and roles").

Roles are groups and a team's object permissions are granted to the team's group (watchlists and deployments
`assign_perm(..., team.group, obj)`), so a person's group memberships are their access. They change only here:
`person_role_grant` / `person_role_revoke` (and `person_roles_set` over them), `person_team_set`, and
`user_create` for a new person. An administrator changes other people's access, never their own
(`selectors.person_access_refusal`); the admin site calls these services and edits no group or permission itself.
"""

from collections.abc import Iterable

from django.contrib.auth.models import Group, User
from django.core.exceptions import PermissionDenied, ValidationError
from django.db import transaction

from lfr_governance.audit.models import Action
from lfr_governance.audit.services import record

from .choices import Rank, Role
from .models import Profile, Team
from .roles import role_group_name, user_roles
from .selectors import NOT_ADMINISTRATOR, is_administrator, person_access_refusal


def _team_group_name(name: str) -> str:
    return f"team: {name}"


def _require_administrator(actor) -> None:
    if not is_administrator(actor):
        raise PermissionDenied(NOT_ADMINISTRATOR)


def _require_access_change(actor, person: User) -> None:
    refusal = person_access_refusal(actor, person)
    if refusal:
        raise PermissionDenied(refusal)


def _lock(person: User) -> User:
    return User.objects.select_for_update().get(pk=person.pk)


def _profile_locked(person: User) -> Profile:
    profile = Profile.objects.select_for_update().filter(user=person).first()
    return profile or Profile.objects.create(user=person)


def _role(role: str) -> Role:
    try:
        return Role(role)
    except ValueError:
        raise ValidationError({"role": f"{role!r} is not a role. Choose one of: {', '.join(Role.values)}."}) from None


def _refresh_caller_copy(person: User, locked: User) -> None:
    """The caller's object shows the new state: staff status copied, cached role permissions and profile dropped."""
    person.is_staff = locked.is_staff
    person.__dict__.pop("_lfr_role_perms", None)
    person._state.fields_cache.pop("profile", None)


@transaction.atomic
def team_get_or_create(*, name: str, description: str = "", actor=None) -> Team:
    """The team of that name, created with its own group when new (`actor` None: the system, e.g. the demo)."""
    team = Team.objects.filter(name=name).first()
    if team is None:
        if actor is not None:
            _require_administrator(actor)
        group = Group.objects.create(name=_team_group_name(name))
        team = Team.objects.create(name=name, description=description, group=group)
        record(action=Action.COLLECTION, event="team.create", actor=actor, target=team, changes={"name": name})
    return team


@transaction.atomic
def team_update(*, actor, team: Team, name: str, description: str) -> None:
    _require_administrator(actor)
    team = Team.objects.select_for_update().select_related("group").get(pk=team.pk)
    changes = {field: {"old": getattr(team, field), "new": value}
               for field, value in (("name", name), ("description", description)) if getattr(team, field) != value}
    if not changes:
        return
    team.name, team.description = name, description
    team.full_clean(exclude=["group"])
    team.save(update_fields=["name", "description"])
    if "name" in changes:
        team.group.name = _team_group_name(name)
        team.group.save(update_fields=["name"])
    record(action=Action.ALTERATION, event="team.update", actor=actor, target=team, changes=changes)


@transaction.atomic
def user_create(
    *,
    username: str,
    password: str | None,
    first_name: str = "",
    last_name: str = "",
    email: str = "",
    roles: list[str],
    rank: str,
    collar_number: str = "",
    team: Team | None = None,
    actor=None,
) -> User:
    """Creates a person with a profile and role groups. Administrators get the admin site; nobody is superuser.

    `actor` None is the system (the demo, the benchmark, tests); a person creating a person must be an
    administrator. `password` None leaves the account without a usable password."""
    if actor is not None:
        _require_administrator(actor)
    roles = [_role(r) for r in roles]
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


def _role_change(*, actor, person: User, role: str, grant: bool) -> None:
    role = _role(role)
    _require_access_change(actor, person)
    locked = _lock(person)
    before = user_roles(locked)
    if (role in before) == grant:
        return
    group = Group.objects.get(name=role_group_name(role))
    (locked.groups.add if grant else locked.groups.remove)(group)
    after = before | {role.value} if grant else before - {role.value}
    changes = {"person": locked.get_username(), "role": role.value,
               "roles": {"old": sorted(before), "new": sorted(after)}}
    # The admin site is for administrators only: staff status follows the administrator role, nothing else.
    is_staff = Role.ADMINISTRATOR in after
    if locked.is_staff != is_staff:
        changes["is_staff"] = {"old": locked.is_staff, "new": is_staff}
        locked.is_staff = is_staff
        locked.save(update_fields=["is_staff"])
    record(action=Action.ALTERATION, event="person.role_grant" if grant else "person.role_revoke", actor=actor,
           target=locked, changes=changes)
    _refresh_caller_copy(person, locked)


@transaction.atomic
def person_role_grant(*, actor, person: User, role: str) -> None:
    """Gives `person` the role (its group); nothing is written when they hold it already."""
    _role_change(actor=actor, person=person, role=role, grant=True)


@transaction.atomic
def person_role_revoke(*, actor, person: User, role: str) -> None:
    """Takes the role (its group) from `person`; nothing is written when they do not hold it."""
    _role_change(actor=actor, person=person, role=role, grant=False)


@transaction.atomic
def person_roles_set(*, actor, person: User, roles: Iterable[str]) -> None:
    """Makes `person`'s roles exactly `roles`: one grant or revoke (and audit row) per difference."""
    wanted = {_role(r).value for r in roles}
    held = user_roles(_lock(person))
    for role in sorted(held - wanted):
        person_role_revoke(actor=actor, person=person, role=role)
    for role in sorted(wanted - held):
        person_role_grant(actor=actor, person=person, role=role)


@transaction.atomic
def person_team_set(*, actor, person: User, team: Team | None) -> None:
    """Moves `person` to `team` (None: no team).

    A team's object permissions are granted to its group, so membership of that group is what carries them:
    the person leaves every other team's group and joins this one's, in the same transaction as the profile.
    Permissions granted to the person by name (an assigned reviewer, authorising officer or operator) stay.
    """
    _require_access_change(actor, person)
    locked = _lock(person)
    profile = _profile_locked(locked)
    old = profile.team
    other_team_groups = Group.objects.filter(team__isnull=False, user=locked)
    if team is not None:
        other_team_groups = other_team_groups.exclude(pk=team.group_id)
    stale = list(other_team_groups)
    in_new_group = team is None or locked.groups.filter(pk=team.group_id).exists()
    if old == team and not stale and in_new_group:
        return
    if stale:
        locked.groups.remove(*stale)
    if team is not None:
        locked.groups.add(team.group)
    profile.team = team
    profile.save(update_fields=["team"])
    record(action=Action.ALTERATION, event="person.team_set", actor=actor, target=locked,
           changes={"person": locked.get_username(),
                    "team": {"old": old.name if old else None, "new": team.name if team else None}})
    _refresh_caller_copy(person, locked)


@transaction.atomic
def person_details_set(
    *, actor, person: User, first_name: str, last_name: str, email: str, is_active: bool, rank: str,
    collar_number: str,
) -> None:
    """Name, email, whether the account may sign in, rank and collar number. Rank decides who may authorise a
    deployment, so it is access: an administrator changes their own name or email, never their own rank."""
    _require_administrator(actor)
    if rank not in Rank.values:
        raise ValidationError({"rank": f"{rank!r} is not a rank."})
    locked = _lock(person)
    profile = _profile_locked(locked)
    wanted = {"first_name": first_name, "last_name": last_name, "email": email, "is_active": is_active,
              "rank": rank, "collar_number": collar_number}
    held = {"first_name": locked.first_name, "last_name": locked.last_name, "email": locked.email,
            "is_active": locked.is_active, "rank": profile.rank, "collar_number": profile.collar_number}
    changes = {name: {"old": held[name], "new": value} for name, value in wanted.items() if held[name] != value}
    if not changes:
        return
    if "rank" in changes:
        _require_access_change(actor, person)
    locked.first_name, locked.last_name, locked.email, locked.is_active = first_name, last_name, email, is_active
    profile.rank, profile.collar_number = rank, collar_number
    locked.full_clean(exclude=["password"])
    profile.full_clean(exclude=["user", "team"])
    locked.save(update_fields=["first_name", "last_name", "email", "is_active"])
    profile.save(update_fields=["rank", "collar_number"])
    record(action=Action.ALTERATION, event="person.update", actor=actor, target=locked,
           changes={"person": locked.get_username(), **changes})


@transaction.atomic
def person_password_set(*, actor, person: User, password: str | None) -> None:
    """Sets (None: disables) a person's password. Whoever knows a password can act as that person, so each
    reset is audited (never the password itself)."""
    _require_administrator(actor)
    locked = _lock(person)
    if password is None:
        locked.set_unusable_password()
    else:
        locked.set_password(password)
    locked.save(update_fields=["password"])
    person.password = locked.password
    record(action=Action.ALTERATION, event="person.password_set", actor=actor, target=locked,
           changes={"person": locked.get_username(), "password": "set" if password is not None else "disabled",
                    "own": actor.pk == locked.pk})
