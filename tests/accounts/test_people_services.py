"""The people services: roles and team change only here, each change one audited transaction, and an
administrator never changes their own access (four-eyes), nor anyone but an administrator anyone's."""

import pytest
from django.contrib.auth.models import User
from django.core.exceptions import PermissionDenied, ValidationError
from django.http import Http404

from lfr_governance.accounts.choices import Rank, Role
from lfr_governance.accounts.models import Team
from lfr_governance.accounts.roles import user_roles
from lfr_governance.accounts.selectors import OWN_ACCESS, person_access_refusal
from lfr_governance.accounts.services import (
    person_details_set,
    person_password_set,
    person_role_grant,
    person_role_revoke,
    person_roles_set,
    person_team_set,
)
from lfr_governance.audit.models import AuditEvent
from lfr_governance.audit.services import audit_chain_verify
from lfr_governance.permissions import has_role_perm
from watchlists import selectors as watchlist_selectors

pytestmark = pytest.mark.django_db


def _fresh(person: User) -> User:
    return User.objects.get(pk=person.pk)


def test_a_grant_and_its_revoke_are_audited_naming_who_and_whom(people):
    admin, owner = people["admin"], people["owner"]
    person_role_grant(actor=admin, person=owner, role=Role.REVIEWER)
    assert user_roles(_fresh(owner)) == {Role.INTELLIGENCE_OFFICER, Role.REVIEWER}
    assert has_role_perm(owner, "watchlists.review_watchlist")  # the caller's cached permissions were dropped
    person_role_revoke(actor=admin, person=owner, role=Role.REVIEWER)
    assert user_roles(_fresh(owner)) == {Role.INTELLIGENCE_OFFICER}
    grant, revoke = AuditEvent.objects.filter(event__startswith="person.role_").order_by("id")
    for row, event, old, new in ((grant, "person.role_grant", ["intelligence_officer"],
                                  ["intelligence_officer", "reviewer"]),
                                 (revoke, "person.role_revoke", ["intelligence_officer", "reviewer"],
                                  ["intelligence_officer"])):
        assert row.event == event and row.action == "alteration"
        assert row.actor == admin and row.target_type == "auth.user" and row.target_id == str(owner.pk)
        assert row.changes["person"] == "owner" and row.changes["role"] == "reviewer"
        assert row.changes["roles"] == {"old": old, "new": new}
    assert audit_chain_verify().ok


def test_granting_a_role_already_held_writes_nothing(people):
    before = AuditEvent.objects.count()
    person_role_grant(actor=people["admin"], person=people["owner"], role=Role.INTELLIGENCE_OFFICER)
    person_role_revoke(actor=people["admin"], person=people["owner"], role=Role.DPO)
    assert AuditEvent.objects.count() == before


def test_staff_status_follows_the_administrator_role(people):
    admin, owner = people["admin"], people["owner"]
    person_role_grant(actor=admin, person=owner, role=Role.ADMINISTRATOR)
    assert _fresh(owner).is_staff
    row = AuditEvent.objects.get(event="person.role_grant")
    assert row.changes["is_staff"] == {"old": False, "new": True}
    person_role_revoke(actor=admin, person=owner, role=Role.ADMINISTRATOR)
    assert not _fresh(owner).is_staff and not _fresh(owner).is_superuser


def test_roles_set_writes_one_row_per_difference(people):
    person_roles_set(actor=people["admin"], person=people["owner"], roles=[Role.REVIEWER, Role.OPERATOR])
    assert user_roles(_fresh(people["owner"])) == {Role.REVIEWER, Role.OPERATOR}
    events = list(AuditEvent.objects.filter(event__startswith="person.role_").order_by("id")
                  .values_list("event", "changes__role"))
    assert events == [("person.role_revoke", "intelligence_officer"), ("person.role_grant", "operator"),
                      ("person.role_grant", "reviewer")]


def test_an_unknown_role_is_refused_by_name(people):
    with pytest.raises(ValidationError) as refused:
        person_role_grant(actor=people["admin"], person=people["owner"], role="superuser")
    assert "'superuser' is not a role" in str(refused.value)


def test_a_team_change_moves_the_teams_object_permissions_with_it(people, watchlist):
    admin, owner, outsider = people["admin"], people["owner"], people["outsider"]
    with pytest.raises(Http404):
        watchlist_selectors.watchlist_get(outsider, watchlist.pk)
    person_team_set(actor=admin, person=outsider, team=watchlist.team)
    assert watchlist_selectors.watchlist_get(_fresh(outsider), watchlist.pk) == watchlist
    other = Team.objects.get(name="Another Borough Unit")
    person_team_set(actor=admin, person=owner, team=other)
    owner = _fresh(owner)
    assert owner.profile.team == other
    assert set(owner.groups.filter(team__isnull=False).values_list("pk", flat=True)) == {other.group_id}
    with pytest.raises(Http404):
        watchlist_selectors.watchlist_get(owner, watchlist.pk)
    row = AuditEvent.objects.filter(event="person.team_set", target_id=str(owner.pk)).get()
    assert row.actor == admin and row.changes == {
        "person": "owner", "team": {"old": "Test Intelligence Unit", "new": "Another Borough Unit"}}
    person_team_set(actor=admin, person=owner, team=None)
    owner = _fresh(owner)
    assert owner.profile.team is None and not owner.groups.filter(team__isnull=False).exists()


@pytest.mark.parametrize("change", ["grant", "revoke", "roles_set", "team", "no_team", "rank"])
def test_an_administrator_cannot_change_their_own_access(people, change):
    admin = people["admin"]
    other = Team.objects.get(name="Another Borough Unit")
    before = (user_roles(_fresh(admin)), _fresh(admin).profile.team_id, _fresh(admin).profile.rank)
    events = AuditEvent.objects.count()
    act = {
        "grant": lambda: person_role_grant(actor=admin, person=admin, role=Role.INTELLIGENCE_OFFICER),
        "revoke": lambda: person_role_revoke(actor=admin, person=admin, role=Role.ADMINISTRATOR),
        "roles_set": lambda: person_roles_set(actor=admin, person=admin, roles=[Role.ADMINISTRATOR, Role.OPERATOR]),
        "team": lambda: person_team_set(actor=admin, person=admin, team=other),
        "no_team": lambda: person_team_set(actor=admin, person=admin, team=None),
        "rank": lambda: person_details_set(actor=admin, person=admin, first_name=admin.first_name,
                                           last_name=admin.last_name, email=admin.email, is_active=True,
                                           rank=Rank.CHIEF_SUPERINTENDENT, collar_number=""),
    }[change]
    with pytest.raises(PermissionDenied) as refused:
        act()
    assert str(refused.value) == OWN_ACCESS and "another administrator" in OWN_ACCESS
    assert (user_roles(_fresh(admin)), _fresh(admin).profile.team_id, _fresh(admin).profile.rank) == before
    assert AuditEvent.objects.count() == events


def test_an_administrator_may_change_their_own_name_and_email(people):
    admin = people["admin"]
    person_details_set(actor=admin, person=admin, first_name="Alex", last_name="Admin", email="alex@police.example",
                       is_active=True, rank=admin.profile.rank, collar_number="")
    assert _fresh(admin).email == "alex@police.example"
    row = AuditEvent.objects.get(event="person.update")
    assert row.actor == admin and row.changes["email"] == {"old": "", "new": "alex@police.example"}


@pytest.mark.parametrize("who", ["owner", "reviewer", "ao", "operator", "outsider"])
def test_only_an_administrator_changes_anyones_access(people, who):
    actor, colleague = people[who], people["colleague"]
    for act in (lambda: person_role_grant(actor=actor, person=colleague, role=Role.REVIEWER),
                lambda: person_role_revoke(actor=actor, person=colleague, role=Role.INTELLIGENCE_OFFICER),
                lambda: person_team_set(actor=actor, person=colleague, team=None),
                lambda: person_details_set(actor=actor, person=colleague, first_name="X", last_name="Y", email="",
                                           is_active=False, rank=Rank.CONSTABLE, collar_number=""),
                lambda: person_password_set(actor=actor, person=colleague, password="a-new-long-passphrase-1")):
        with pytest.raises(PermissionDenied):
            act()
    assert person_access_refusal(actor, colleague) is not None
    assert user_roles(_fresh(colleague)) == {Role.INTELLIGENCE_OFFICER} and _fresh(colleague).is_active


def test_an_inactive_administrator_changes_nothing(people):
    admin = people["admin"]
    admin.is_active = False
    admin.save()
    with pytest.raises(PermissionDenied):
        person_role_grant(actor=admin, person=people["owner"], role=Role.REVIEWER)


def test_a_taken_collar_number_is_refused(people):
    admin = people["admin"]
    person_details_set(actor=admin, person=people["owner"], first_name="Owner", last_name="Tester", email="",
                       is_active=True, rank=Rank.CONSTABLE, collar_number="PC 100")
    with pytest.raises(ValidationError):
        person_details_set(actor=admin, person=people["colleague"], first_name="Colleague", last_name="Tester",
                           email="", is_active=True, rank=Rank.CONSTABLE, collar_number="PC 100")
