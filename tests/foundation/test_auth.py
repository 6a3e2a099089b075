import pytest

from lfr_governance.audit.models import AuditEvent
from tests.conftest import TEST_PASSWORD

pytestmark = pytest.mark.django_db


def test_login_logout_and_failed_login_are_audited(client, users):
    user = users["operator"]
    response = client.post("/login/", {"username": user.username, "password": "not-the-password"})
    assert response.status_code == 200 and "Please enter a correct username and password" in response.content.decode()
    failed = AuditEvent.objects.filter(event="auth.login_failed").latest("id")
    assert failed.action == "login_failed" and failed.changes == {"username": user.username}
    assert "not-the-password" not in str(failed.changes) + failed.actor_label

    response = client.post("/login/", {"username": user.username, "password": TEST_PASSWORD})
    assert response.status_code == 302
    login = AuditEvent.objects.filter(event="auth.login").latest("id")
    assert login.actor_id == user.id and login.action == "login"

    response = client.post("/logout/")
    assert response.status_code == 302
    logout = AuditEvent.objects.filter(event="auth.logout").latest("id")
    assert logout.actor_id == user.id and logout.id > login.id


def test_pages_need_a_login(client):
    response = client.get("/")
    assert response.status_code == 302 and response["Location"].startswith("/login/")
