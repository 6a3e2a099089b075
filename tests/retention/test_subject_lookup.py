"""Subject lookup for data subject requests: entries, alerts and audit rows about one subject, itself audited."""

import pytest
from django.core.management import call_command

from lfr_governance.audit.models import AuditEvent

pytestmark = pytest.mark.django_db


def test_lookup_finds_everything_and_is_audited(client, tmp_path, settings):
    settings.MEDIA_ROOT = tmp_path
    call_command("demo_setup")
    from django.contrib.auth.models import User

    client.force_login(User.objects.get(username="dpo"))
    page = client.get("/audit/subject/")
    assert page.status_code == 200 and "Look up" in page.content.decode()
    missing = client.get("/audit/subject/?subject_ref=DEMO-001&justification=short")
    assert "at least 10 characters" in missing.content.decode()
    assert not AuditEvent.objects.filter(event="subject.lookup").exists()
    html = client.get("/audit/subject/?subject_ref=DEMO-001&justification=Subject access request SAR-2026-7"
                      ).content.decode()
    assert "Watchlist entries (2)" in html  # the live demo watchlist and the finished one
    from matching.models import Alert

    alerts = Alert.objects.filter(entry__subject_ref="DEMO-001")
    assert f"Alerts ({alerts.count()})" in html
    for alert in alerts:
        assert f"LFR-{alert.deployment_id:05d}" in html
    assert "watchlist.entry_create" in html
    lookup = AuditEvent.objects.get(event="subject.lookup")
    assert lookup.action == "consultation" and lookup.justification == "Subject access request SAR-2026-7"
    assert lookup.subject_ref == "DEMO-001" and lookup.changes["entries"] == 2


@pytest.mark.parametrize("who", ["intelligence_officer", "administrator", "operator"])
def test_only_the_dpo_looks_subjects_up(client, users, who):
    client.force_login(users[who])
    assert client.get("/audit/subject/?subject_ref=X&justification=Subject access request").status_code == 403
