"""Reads about people: what they hold now, and the one answer to "may this person change that person's access"."""

from django.contrib.auth.models import User

from .choices import Role
from .models import Profile
from .roles import user_has_role

NOT_ADMINISTRATOR = "Only an administrator can manage people (their details, password, roles, rank and team)."
OWN_ACCESS = ("You cannot change your own roles, rank or team: another administrator must make the change, "
              "so that nobody grants themselves access (four-eyes rule).")


def is_administrator(actor) -> bool:
    """An active, signed-in person holding the administrator role: who manages people."""
    return (actor is not None and actor.is_authenticated and actor.is_active
            and user_has_role(actor, Role.ADMINISTRATOR))


def person_access_refusal(actor, person: User) -> str | None:
    """Why `actor` may not change `person`'s roles, rank or team now; None when they may.

    Roles, rank (it decides who may authorise) and team (it carries the team's object permissions) are the
    person's access; an administrator changes other people's, never their own.
    """
    if not is_administrator(actor):
        return NOT_ADMINISTRATOR
    if actor.pk == person.pk:
        return OWN_ACCESS
    return None


def person_profile(person: User) -> Profile | None:
    return Profile.objects.select_related("team").filter(user=person).first()
