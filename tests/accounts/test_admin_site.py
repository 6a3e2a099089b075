"""Security finding 3: an administrator gave themselves a role and a team through the Django admin and then read
that team's watchlist images, with no audit row. Roles and teams now change only through the accounts services
(audited, four-eyes), and no admin form edits a group, a permission, superuser or staff status."""

import pytest
from django.contrib.auth.models import Group, Permission, User

from lfr_governance.accounts.choices import Rank, Role
from lfr_governance.accounts.models import Team
from lfr_governance.accounts.roles import role_group_name, user_roles
from lfr_governance.accounts.services import team_get_or_create
from lfr_governance.audit.models import AuditEvent

from .conftest import JUSTIFICATION

pytestmark = pytest.mark.django_db


def _change_form_data(person: User, **overrides) -> dict:
    """What a browser posts on a person's admin page, with the fields of the stock Django user form too
    (groups, user_permissions, is_staff, is_superuser, the profile inline), so a test can try them all."""
    profile = person.profile
    data = {
        "username": person.username, "first_name": person.first_name, "last_name": person.last_name,
        "email": person.email, "is_active": "on", "rank": profile.rank, "collar_number": profile.collar_number,
        "team": profile.team_id or "", "roles": sorted(user_roles(person)),
        "date_joined_0": person.date_joined.strftime("%Y-%m-%d"), "date_joined_1": person.date_joined.strftime("%H:%M:%S"),
        "initial-date_joined_0": person.date_joined.strftime("%Y-%m-%d"),
        "initial-date_joined_1": person.date_joined.strftime("%H:%M:%S"),
        "last_login_0": "", "last_login_1": "",
        "profile-TOTAL_FORMS": "1", "profile-INITIAL_FORMS": "1", "profile-MIN_NUM_FORMS": "0",
        "profile-MAX_NUM_FORMS": "1", "profile-0-id": profile.pk, "profile-0-user": person.pk,
        "profile-0-rank": profile.rank, "profile-0-collar_number": profile.collar_number,
        "profile-0-team": profile.team_id or "",
        "_save": "Save",
    }
    if person.is_staff:
        data["is_staff"] = "on"
    data.update(overrides)
    return {key: value for key, value in data.items() if value is not None}


def _access_of(person: User) -> dict:
    person = User.objects.get(pk=person.pk)
    return {"groups": set(person.groups.values_list("name", flat=True)),
            "user_permissions": set(person.user_permissions.values_list("codename", flat=True)),
            "is_staff": person.is_staff, "is_superuser": person.is_superuser, "team": person.profile.team_id,
            "rank": person.profile.rank}


@pytest.fixture
def sysadmin(make_user):
    """An administrator in a team of their own, as in the finding (the fixtures' admin shares the owners' team)."""
    return make_user("sysadmin", Role.ADMINISTRATOR, team_=team_get_or_create(name="Headquarters systems"))


def test_reproduction_an_administrator_cannot_give_themselves_a_role_and_a_team_in_the_admin(
        client, sysadmin, watchlist, image):
    team = watchlist.team
    io_group = Group.objects.get(name=role_group_name(Role.INTELLIGENCE_OFFICER))
    before = _access_of(sysadmin)
    client.force_login(sysadmin)
    image_perms = Permission.objects.filter(codename__in=["view_watchlist", "view_watchlist_images"])
    response = client.post(f"/admin/auth/user/{sysadmin.pk}/change/", _change_form_data(
        sysadmin, roles=[Role.ADMINISTRATOR.value, Role.INTELLIGENCE_OFFICER.value], team=team.pk,
        rank=Rank.CHIEF_SUPERINTENDENT, groups=[io_group.pk, team.group_id],
        user_permissions=[p.pk for p in image_perms], is_superuser="on",
        **{"profile-0-team": team.pk, "profile-0-rank": Rank.CHIEF_SUPERINTENDENT}))
    assert response.status_code == 302, response.content.decode()[:2000]  # saved: name, email, active only
    # Still not the team's images: the same "not found" as for an image that does not exist (before: 302 and 200).
    assert client.post(f"/watchlists/{watchlist.pk}/justify/", {"justification": JUSTIFICATION}).status_code == 404
    assert client.get(f"/watchlists/images/{image.pk}/").status_code == 404
    assert client.get(f"/watchlists/images/{image.pk}/file/").status_code == 404
    assert client.get(f"/api/v1/images/{image.pk}/content/", HTTP_X_JUSTIFICATION=JUSTIFICATION).status_code == 404
    # Nothing of their access changed, so there is no access change to audit either.
    assert _access_of(sysadmin) == before
    assert not AuditEvent.objects.filter(event__startswith="person.").exists()

def test_the_own_person_page_shows_roles_and_team_as_fixed(client, sysadmin):
    client.force_login(sysadmin)
    html = client.get(f"/admin/auth/user/{sysadmin.pk}/change/").content.decode()
    assert "another administrator must make the change" in html
    assert 'name="groups"' not in html and 'name="user_permissions"' not in html
    assert 'name="is_superuser"' not in html and 'name="is_staff"' not in html


def test_the_admin_edits_no_group_or_permission_of_another_person(client, people):
    admin, owner = people["admin"], people["owner"]
    before = _access_of(owner)
    client.force_login(admin)
    groups = list(Group.objects.values_list("pk", flat=True))
    response = client.post(f"/admin/auth/user/{owner.pk}/change/", _change_form_data(
        owner, groups=groups, user_permissions=list(Permission.objects.values_list("pk", flat=True)[:20]),
        is_superuser="on", is_staff="on"))
    assert response.status_code == 302, response.content.decode()[:2000]
    assert _access_of(owner) == before


def test_there_is_no_group_admin(client, people):
    admin = people["admin"]
    client.force_login(admin)
    io_group = Group.objects.get(name=role_group_name(Role.INTELLIGENCE_OFFICER))
    admin_group = Group.objects.get(name=role_group_name(Role.ADMINISTRATOR))
    held = set(admin_group.permissions.values_list("pk", flat=True))
    everything = list(Permission.objects.values_list("pk", flat=True))
    assert client.get("/admin/auth/group/").status_code == 404
    assert client.get(f"/admin/auth/group/{io_group.pk}/change/").status_code == 404
    response = client.post(f"/admin/auth/group/{admin_group.pk}/change/",
                           {"name": admin_group.name, "permissions": everything, "user_set": [admin.pk]})
    assert response.status_code == 404
    response = client.post("/admin/auth/group/add/", {"name": "shadow", "permissions": everything})
    assert response.status_code == 404
    assert set(admin_group.permissions.values_list("pk", flat=True)) == held
    assert not Group.objects.filter(name="shadow").exists()
    assert not io_group.user_set.filter(pk=admin.pk).exists()
    assert b"/admin/auth/group/" not in client.get("/admin/").content


def test_a_team_cannot_be_pointed_at_another_group(client, people, team):
    client.force_login(people["admin"])
    io_group = Group.objects.get(name=role_group_name(Role.INTELLIGENCE_OFFICER))
    group_before = team.group_id
    response = client.post(f"/admin/accounts/team/{team.pk}/change/",
                           {"name": team.name, "description": "Renamed desk", "group": io_group.pk})
    assert response.status_code == 302
    team.refresh_from_db()
    assert team.group_id == group_before and team.description == "Renamed desk"
    assert AuditEvent.objects.filter(event="team.update", actor=people["admin"], target_id=str(team.pk)).exists()
    response = client.post("/admin/accounts/team/add/", {"name": "New Unit", "description": "", "group": io_group.pk})
    assert response.status_code == 302
    created = Team.objects.get(name="New Unit")
    assert created.group_id != io_group.pk and created.group.name == "team: New Unit"
    assert AuditEvent.objects.filter(event="team.create", actor=people["admin"], target_id=str(created.pk)).exists()


def test_an_administrator_changes_another_persons_role_and_team_in_the_admin(client, people):
    admin, owner = people["admin"], people["owner"]
    other_team = Team.objects.get(name="Another Borough Unit")
    client.force_login(admin)
    html = client.get(f"/admin/auth/user/{owner.pk}/change/").content.decode()
    assert 'name="roles"' in html and "another administrator must make the change" not in html
    response = client.post(f"/admin/auth/user/{owner.pk}/change/", _change_form_data(
        owner, roles=[Role.INTELLIGENCE_OFFICER.value, Role.REVIEWER.value], team=other_team.pk))
    assert response.status_code == 302, response.content.decode()[:2000]
    owner = User.objects.get(pk=owner.pk)
    assert user_roles(owner) == {Role.INTELLIGENCE_OFFICER, Role.REVIEWER}
    assert owner.profile.team == other_team
    team_groups = set(owner.groups.filter(team__isnull=False).values_list("pk", flat=True))
    assert team_groups == {other_team.group_id}
    grant = AuditEvent.objects.get(event="person.role_grant", target_id=str(owner.pk))
    assert grant.action == "alteration" and grant.actor == admin and grant.actor_label.startswith("admin")
    assert grant.changes["person"] == "owner" and grant.changes["role"] == "reviewer"
    assert grant.changes["roles"] == {"old": ["intelligence_officer"], "new": ["intelligence_officer", "reviewer"]}
    moved = AuditEvent.objects.get(event="person.team_set", target_id=str(owner.pk))
    assert moved.actor == admin and moved.changes["team"] == {"old": "Test Intelligence Unit",
                                                              "new": "Another Borough Unit"}


def test_an_administrator_adds_a_person_through_the_service(client, people, team):
    admin = people["admin"]
    client.force_login(admin)
    html = client.get("/admin/auth/user/add/").content.decode()
    assert 'name="roles"' in html and 'name="team"' in html and 'name="groups"' not in html
    response = client.post("/admin/auth/user/add/", {
        "username": "newcomer", "password1": "a-long-unusual-passphrase-42", "password2": "a-long-unusual-passphrase-42",
        "first_name": "New", "last_name": "Comer", "email": "new@police.example", "rank": Rank.CONSTABLE,
        "collar_number": "PC 4242", "team": team.pk, "roles": [Role.OPERATOR.value],
        "groups": [Group.objects.get(name=role_group_name(Role.INTELLIGENCE_OFFICER)).pk], "is_superuser": "on",
        "_save": "Save"})
    assert response.status_code == 302, response.content.decode()[:2000]
    person = User.objects.get(username="newcomer")
    assert user_roles(person) == {Role.OPERATOR} and not person.is_superuser and not person.is_staff
    assert person.profile.team == team and person.profile.collar_number == "PC 4242"
    assert person.groups.filter(pk=team.group_id).exists()
    created = AuditEvent.objects.get(event="user.create", target_id=str(person.pk))
    assert created.actor == admin and created.changes["roles"] == ["operator"]


def test_a_password_reset_in_the_admin_is_audited(client, people):
    admin, owner = people["admin"], people["owner"]
    client.force_login(admin)
    response = client.post(f"/admin/auth/user/{owner.pk}/password/", {
        "password1": "another-long-passphrase-77", "password2": "another-long-passphrase-77",
        "usable_password": "true"})
    assert response.status_code == 302
    owner.refresh_from_db()
    assert owner.check_password("another-long-passphrase-77")
    reset = AuditEvent.objects.get(event="person.password_set", target_id=str(owner.pk))
    assert reset.actor == admin and reset.changes == {"person": "owner", "password": "set", "own": False}
    assert "another-long-passphrase-77" not in str(reset.changes)


def test_a_person_without_the_administrator_role_has_no_admin_site(client, people):
    client.force_login(people["owner"])
    response = client.get(f"/admin/auth/user/{people['owner'].pk}/change/")
    assert response.status_code == 302 and "/admin/login/" in response["Location"]


def test_the_admin_shows_nobody_elses_second_factor(client, sysadmin):
    """django-otp's device admin (secret keys, QR codes) is not offered: 404 for its list and config pages."""
    client.force_login(sysadmin)
    for url in ("/admin/otp_totp/totpdevice/", "/admin/otp_totp/totpdevice/1/config/",
                "/admin/otp_static/staticdevice/"):
        assert client.get(url).status_code == 404, url
