"""Audit log pages: filters, exports for the regulator (audited as disclosures), read-only."""

import csv
import io
import json

import pytest

from lfr_governance.audit.models import Action, AuditEvent
from lfr_governance.audit.services import record

pytestmark = pytest.mark.django_db


@pytest.fixture
def rows(users):
    record(action=Action.ALTERATION, event="deployment.authorise", actor=users["authorising_officer"],
           target_type="deployments.deployment", target_id=41, deployment_id=41)
    record(action=Action.CONSULTATION, event="watchlist.image_view", actor=users["reviewer"],
           target_type="watchlists.referenceimage", target_id=7, subject_ref="PNC-99/1Z",
           justification="Reviewing entry before freeze")
    record(action=Action.ERASURE, event="watchlist.image_destroy", actor_label="retention purge job",
           target_type="watchlists.referenceimage", target_id=7, subject_ref="PNC-99/1Z")


def test_filters(client, users, rows):
    client.force_login(users["dpo"])
    html = client.get("/audit/?deployment=41").content.decode()
    assert "deployment.authorise" in html and "watchlist.image_view" not in html
    html = client.get("/audit/?subject=PNC-99/1Z&action=consultation").content.decode()
    assert "Reviewing entry before freeze" in html and "watchlist.image_destroy" not in html
    html = client.get("/audit/?since=2000-01-01&until=2000-01-02").content.decode()
    assert "No audit rows match" in html


def test_export_is_a_disclosure_with_its_justification(client, users, rows):
    client.force_login(users["dpo"])
    assert client.get("/audit/export.csv?subject=PNC-99/1Z").status_code == 400
    response = client.get("/audit/export.csv?subject=PNC-99/1Z&justification=ICO request 2026/114")
    data = list(csv.DictReader(io.StringIO(response.content.decode())))
    assert [r["event"] for r in data] == ["watchlist.image_view", "watchlist.image_destroy"]
    assert data[0]["justification"] == "Reviewing entry before freeze"
    body = json.loads(client.get("/audit/export.json?deployment=41&justification=ICO request 2026/114").content)
    assert body["chain"]["ok"] is True and [r["event"] for r in body["rows"]] == ["deployment.authorise"]
    exports = AuditEvent.objects.filter(event="audit.export", action="disclosure").order_by("id")
    assert exports.count() == 2 and exports[0].justification == "ICO request 2026/114"
    assert exports[0].changes["rows"] == 2 and exports[0].changes["filters"] == {"subject": "PNC-99/1Z"}


def test_only_the_export_permission_exports(client, users, rows):
    client.force_login(users["administrator"])
    assert client.get("/audit/").status_code == 200
    assert client.get("/audit/export.csv?justification=ICO request 2026/114").status_code == 403
    client.force_login(users["operator"])
    assert client.get("/audit/export.json?justification=ICO request 2026/114").status_code == 403
