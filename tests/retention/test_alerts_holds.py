"""Alerts go 31 days after the alert unless held; a released hold makes them due at once."""

from datetime import date, timedelta

import pytest
from django.core.exceptions import PermissionDenied, ValidationError
from django.core.files.base import ContentFile
from django.core.files.storage import default_storage
from django.utils import timezone

from deployments.selectors import published_record
from lfr_governance.audit.models import AuditEvent
from lfr_governance.retention import holds, services
from matching.models import Alert
from tests.deployments.conftest import (  # noqa: F401  (shared fixtures)
    application, authorised, dep_people, node, scheduled, window,
)
from tests.watchlists.conftest import add_entry, face_bytes, frozen, people, watchlist  # noqa: F401

pytestmark = pytest.mark.django_db(transaction=True)


@pytest.fixture
def alerts(scheduled, node):
    """Two alerts made 40 days ago and one made today, with probe crops on disk."""
    entry = scheduled.watchlist_version.entries.first()
    now = timezone.now()
    made = []
    for i, age in enumerate((40, 40, 0)):
        at = now - timedelta(days=age)
        alert = Alert(deployment=scheduled, edge_node=node, camera="cam 1", frame_id=f"f{i}", entry=entry, score=0.8,
                      threshold=0.43, pack_id="yunet-sface", captured_at=at, received_at=at, alerted_at=at,
                      decision="confirmed" if i == 0 else "false_alert", outcome="arrested" if i == 0 else "")
        alert.probe_image = ContentFile(b"\xff\xd8probe", name="probe.jpg")
        alert.save()
        made.append(alert)
    return made


def test_alerts_are_deleted_when_due_unless_held(alerts, dep_people, scheduled):
    old_held, old_free, fresh = alerts
    hold = holds.legal_hold_place(actor=dep_people["owner"], alert=old_held, reason="Evidence in R v Example (2026)",
                                  owner=dep_people["owner"], review_date=date.today() + timedelta(days=60))
    files = {a.pk: a.probe_image.name for a in alerts}
    before = published_record(scheduled)
    run = services.purge_run()
    assert run.deleted["alerts"] == 1
    assert set(Alert.objects.values_list("pk", flat=True)) == {old_held.pk, fresh.pk}
    assert not default_storage.exists(files[old_free.pk]) and default_storage.exists(files[old_held.pk])
    erasure = AuditEvent.objects.get(event="alert.erase")
    assert erasure.target_id == str(old_free.pk) and erasure.action == "erasure" and "probe" not in str(erasure.changes)
    # The held alert is an exception, not overdue.
    assert services.overdue_counts()["alerts"] == 0
    # Released: due at once.
    holds.legal_hold_release(actor=dep_people["owner"], hold=hold, reason="Case concluded")
    assert services.overdue_counts(grace_minutes=0)["alerts"] == 1
    assert services.purge_run().deleted["alerts"] == 1
    assert list(Alert.objects.values_list("pk", flat=True)) == [fresh.pk]
    # The published record keeps its figures after the alerts themselves are gone.
    after = published_record(scheduled)
    for key in ("alerts", "true_alerts", "false_alerts", "engagements", "arrests"):
        assert after[key] == before[key], key
    assert after["arrests"] == 1 and after["alerts"] == 3


def test_not_deleted_a_minute_before_it_is_due(alerts):
    due = alerts[2].alerted_at + timedelta(days=31)
    services.purge_run(now=due - timedelta(minutes=1))
    assert Alert.objects.filter(pk=alerts[2].pk).exists()
    services.purge_run(now=due)
    assert not Alert.objects.filter(pk=alerts[2].pk).exists()


def test_hold_rules(alerts, dep_people):
    with pytest.raises(PermissionDenied):
        holds.legal_hold_place(actor=dep_people["outsider"], alert=alerts[0], reason="Evidence in a case",
                               owner=dep_people["outsider"], review_date=date.today() + timedelta(days=5))
    with pytest.raises(ValidationError) as exc:
        holds.legal_hold_place(actor=dep_people["owner"], alert=alerts[0], reason="short", owner=dep_people["owner"],
                               review_date=date.today())
    assert set(exc.value.message_dict) == {"reason", "review_date"}
    holds.legal_hold_place(actor=dep_people["owner"], alert=alerts[0], reason="Evidence in R v Example (2026)",
                           owner=dep_people["owner"], review_date=date.today() + timedelta(days=5))
    with pytest.raises(ValidationError, match="already under a legal hold"):
        holds.legal_hold_place(actor=dep_people["owner"], alert=alerts[0], reason="Evidence in R v Example (2026)",
                               owner=dep_people["owner"], review_date=date.today() + timedelta(days=5))
    assert AuditEvent.objects.filter(event="retention.hold_place").count() == 1


def test_dpo_sees_holds_in_the_report(client, alerts, dep_people, make_user):
    from lfr_governance.accounts.choices import Role

    holds.legal_hold_place(actor=dep_people["owner"], alert=alerts[0], reason="Evidence in R v Example (2026)",
                           owner=dep_people["owner"], review_date=date.today() + timedelta(days=5))
    client.force_login(make_user("dpo-h", Role.DPO))
    html = client.get("/retention/").content.decode()
    assert "Evidence in R v Example (2026)" in html and "Alerts and their probe crops" in html
    assert client.get("/retention/holds/").status_code == 200
    assert client.post("/retention/holds/", {"hold": 1, "reason": "x"}).status_code == 200  # read-only for the DPO
    assert AuditEvent.objects.filter(event="retention.hold_release").count() == 0
