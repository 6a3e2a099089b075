import pytest
from django.contrib.auth.models import Group

from lfr_governance.accounts.choices import Rank, Role, rank_at_least
from lfr_governance.accounts.roles import ROLE_PERMISSIONS, role_group_name, roles_sync, user_roles
from lfr_governance.permissions import has_role_perm

pytestmark = pytest.mark.django_db


def test_every_role_is_a_group_with_exactly_its_permissions():
    roles_sync()
    for role, perms in ROLE_PERMISSIONS.items():
        group = Group.objects.get(name=role_group_name(role))
        held = {f"{p.content_type.app_label}.{p.codename}" for p in group.permissions.select_related("content_type")}
        assert held == perms


def test_roles_sync_removes_a_permission_added_by_hand():
    roles_sync()
    from django.contrib.auth.models import Permission

    group = Group.objects.get(name=role_group_name(Role.OPERATOR))
    group.permissions.add(Permission.objects.get(codename="view_auditevent"))
    roles_sync()
    assert not group.permissions.filter(codename="view_auditevent").exists()


def test_role_permissions_per_person(users):
    assert has_role_perm(users["dpo"], "audit.view_auditevent")
    assert has_role_perm(users["dpo"], "audit.export_auditevent")
    assert has_role_perm(users["administrator"], "audit.view_auditevent")
    assert not has_role_perm(users["administrator"], "audit.export_auditevent")
    for name in ("intelligence_officer", "reviewer", "authorising_officer", "operator", "unrelated"):
        assert not has_role_perm(users[name], "audit.view_auditevent"), name
    assert user_roles(users["reviewer"]) == {"reviewer"}
    # Administrators reach the admin site but are never superusers (they must not see watchlist images).
    assert users["administrator"].is_staff and not users["administrator"].is_superuser
    assert not users["dpo"].is_staff


def test_superuser_status_alone_grants_no_role_permission(make_user):
    user = make_user("root-like")
    user.is_superuser = True
    user.save()
    assert not has_role_perm(user, "audit.view_auditevent")


@pytest.mark.parametrize(
    "who, expected", [("dpo", 200), ("administrator", 200), ("intelligence_officer", 403), ("operator", 403),
                      ("unrelated", 403)],
)
def test_audit_log_page_by_role(client, users, who, expected):
    client.force_login(users[who])
    assert client.get("/audit/").status_code == expected


def test_audit_log_page_anonymous_is_sent_to_login(client):
    response = client.get("/audit/")
    assert response.status_code == 302 and "/login/" in response["Location"]


def test_navigation_shows_each_role_its_entries(client, users):
    client.force_login(users["dpo"])
    html = client.get("/").content.decode()
    assert 'href="/audit/"' in html and 'href="/admin/"' not in html
    client.force_login(users["administrator"])
    html = client.get("/").content.decode()
    assert 'href="/audit/"' in html and 'href="/admin/"' in html
    client.force_login(users["intelligence_officer"])
    html = client.get("/").content.decode()
    assert 'href="/audit/"' not in html and 'href="/admin/"' not in html


def test_rank_order():
    assert rank_at_least(Rank.CHIEF_SUPERINTENDENT, Rank.SUPERINTENDENT)
    assert rank_at_least(Rank.SUPERINTENDENT, Rank.SUPERINTENDENT)
    assert not rank_at_least(Rank.CHIEF_INSPECTOR, Rank.SUPERINTENDENT)
    assert not rank_at_least(Rank.CIVILIAN, Rank.CONSTABLE)


def test_api_docs_are_served_without_a_cdn(client, users):
    client.force_login(users["intelligence_officer"])
    html = client.get("/api/v1/docs/").content.decode()
    assert "/static/drf_spectacular_sidecar/redoc/" in html and "cdn" not in html.lower()
    assert client.get("/api/v1/schema/").status_code == 200
