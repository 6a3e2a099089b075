"""The DPO's retention report: what it shows, who may see it, and exports that match it and are audited."""

import io
from datetime import timedelta

import pytest
from django.utils import timezone
from pypdf import PdfReader

from deployments.choices import DeploymentStatus
from deployments.models import Deployment, DeploymentCounters
from lfr_governance.audit.models import AuditEvent
from lfr_governance.retention import services
from tests.deployments.conftest import (  # noqa: F401  (shared fixtures)
    application, authorised, dep_people, node, scheduled, window,
)
from tests.watchlists.conftest import add_entry, face_bytes, frozen, people, watchlist  # noqa: F401

pytestmark = pytest.mark.django_db


@pytest.fixture
def finished(scheduled):
    end = timezone.now() - timedelta(hours=26)
    Deployment.objects.filter(pk=scheduled.pk).update(status=DeploymentStatus.ENDED, ended_at=end)
    DeploymentCounters.objects.filter(deployment=scheduled).update(
        frames_received=1200, frames_processed=1190, frames_deleted=1190, frames_refused=10, faces_detected=1500,
        deletion_ms_total=1190 * 42.0, deletion_ms_max=180.0)
    services.purge_run()
    scheduled.refresh_from_db()
    return scheduled


@pytest.fixture
def dpo(make_user):
    from lfr_governance.accounts.choices import Role

    return make_user("the-dpo", Role.DPO)


def test_the_report_shows_held_deleted_and_evidence(client, dpo, finished):
    client.force_login(dpo)
    html = client.get("/retention/").content.decode()
    assert f"LFR-{finished.pk:05d}" in html and "None overdue" in html and "Running" in html
    assert "1190 deleted" in html and "deletion latency mean 42.0 ms" in html and "max 180.0 ms" in html
    assert 'data-testid="chart-deletions"' in html and 'data-testid="chart-held"' in html
    assert "Watchlist images and templates" in html and "31 days" in html


@pytest.mark.parametrize("who", ["owner", "admin", "ao", "operator", "reviewer"])
def test_only_the_dpo_sees_the_report(client, dep_people, who):
    client.force_login(dep_people[who])
    assert client.get("/retention/").status_code == 403
    assert client.get("/retention/report.csv?justification=curiosity-only").status_code == 403


def test_the_dpo_cannot_change_anything(client, dpo, finished):
    client.force_login(dpo)
    for path in ("/retention/", "/retention/report.pdf", "/audit/"):
        assert client.post(path, {"x": "1"}).status_code in (403, 405)


def test_exports_match_the_page_and_are_audited(client, dpo, finished):
    client.force_login(dpo)
    assert client.get("/retention/report.csv").status_code == 400  # a reason is required
    csv_text = client.get("/retention/report.csv?justification=Quarterly report to the ICO").content.decode()
    lines = csv_text.strip().splitlines()
    assert lines[0].startswith("deployment,title,status,data kind,held,deleted")
    assert f"LFR-{finished.pk:05d},Town centre robbery operation,Ended,Watchlist images and templates,0,3," in csv_text
    assert '"Non-match frames, crops and templates",0,1190,at processing' in csv_text
    pdf = client.get(f"/retention/report.pdf?deployment={finished.pk}&justification=Quarterly report to the ICO")
    assert pdf["Content-Type"] == "application/pdf"
    text = " ".join(page.extract_text() for page in PdfReader(io.BytesIO(pdf.content)).pages)
    assert f"LFR-{finished.pk:05d}" in text and "frames received 1200" in text and "deleted 1190" in text
    exports = AuditEvent.objects.filter(event="retention.report_export", action="disclosure")
    assert exports.count() == 2 and exports.first().justification == "Quarterly report to the ICO"


def test_overdue_shows_when_the_purge_has_not_run(client, dpo, scheduled):
    from lfr_governance.retention.models import PurgeRun

    PurgeRun.objects.all().delete()  # including any start-up run of a test worker
    Deployment.objects.filter(pk=scheduled.pk).update(status=DeploymentStatus.ENDED,
                                                      ended_at=timezone.now() - timedelta(hours=30))
    client.force_login(dpo)
    html = client.get("/retention/").content.decode()
    assert "1 overdue" in html and "Not running" in html
    services.purge_run()
    html = client.get("/retention/").content.decode()
    assert "None overdue" in html and "Running" in html
