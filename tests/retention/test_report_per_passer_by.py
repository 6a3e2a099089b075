"""The DPO's report per passer-by: passers-by, faces, alerts per person, candidates not confirmed and the false-alert
rate, on the page and in both exports, alike."""

import csv
import io
from datetime import timedelta

import pytest
from django.utils import timezone
from pypdf import PdfReader

from deployments.choices import DeploymentStatus
from deployments.models import Deployment, DeploymentCounters
from lfr_governance.retention import selectors
from lfr_governance.retention.exports import CSV_HEADER, KIND_HEADER
from tests.deployments.conftest import (  # noqa: F401  (shared fixtures)
    application, authorised, dep_people, node, scheduled, window,
)
from tests.watchlists.conftest import add_entry, face_bytes, frozen, people, watchlist  # noqa: F401

pytestmark = pytest.mark.django_db
JUSTIFICATION = "Quarterly report to the ICO"


@pytest.fixture
def dpo(make_user):
    from lfr_governance.accounts.choices import Role

    return make_user("the-dpo", Role.DPO)


@pytest.fixture
def seen(scheduled):
    end = timezone.now() - timedelta(hours=2)
    Deployment.objects.filter(pk=scheduled.pk).update(status=DeploymentStatus.ENDED, went_live_at=end - timedelta(
        hours=4), ended_at=end)
    DeploymentCounters.objects.filter(deployment=scheduled).update(
        frames_received=40_000, frames_processed=40_000, frames_deleted=40_000, faces_detected=52_000, tracks=8_000,
        candidates=6, tracks_alerted=4, sightings=21, erased_alerts=4, erased_true_alerts=3, erased_false_alerts=1)
    scheduled.refresh_from_db()
    return scheduled


def test_the_report_carries_the_figures_per_passer_by(seen):
    report = selectors.deployment_retention(Deployment.objects.select_related("counters").get(pk=seen.pk))
    assert report["figures"] == {"passers_by": 8_000, "alerts": 4, "true_alerts": 3, "false_alerts": 1,
                                 "candidates": 6, "candidates_not_confirmed": 2, "sightings": 21}
    assert report["false_alert_rate"].text == "1 in 8,000 passers-by (0.013%)"


def test_the_page_shows_them(client, dpo, seen):
    client.force_login(dpo)
    html = client.get("/retention/").content.decode()
    section = html[html.index(f'data-testid="passer-by-figures-{seen.pk}"'):]
    section = section[:section.index("</p>")]
    for part in ("8000 passers-by seen (52000 faces)", "4 alerts, one per person (3 confirmed, 1 false)",
                 "2 candidates not confirmed (at or above the threshold in fewer than 2 frames",
                 "false alerts per passer-by: 1 in 8,000 passers-by (0.013%)"):
        assert part in section, part


def test_a_deployment_with_no_passers_by_says_so(client, dpo, scheduled):
    client.force_login(dpo)
    html = client.get("/retention/").content.decode()
    assert "false alerts per passer-by: no passers-by yet" in html


def test_the_csv_adds_the_figures_after_its_columns(client, dpo, seen):
    client.force_login(dpo)
    text = client.get("/retention/report.csv", {"justification": JUSTIFICATION}).content.decode()
    rows = list(csv.reader(io.StringIO(text)))
    assert rows[0] == CSV_HEADER and CSV_HEADER[:len(KIND_HEADER)] == KIND_HEADER
    assert CSV_HEADER[len(KIND_HEADER):] == ["passers-by", "faces", "alerts", "false alerts",
                                             "candidates not confirmed", "false alerts per passer-by",
                                             "crops without a face", "frames expired unprocessed",
                                             "frames refused, workers behind"]
    mine = [row for row in rows[1:] if row[0] == f"LFR-{seen.pk:05d}"]
    assert mine and all(row[len(KIND_HEADER):] == ["8000", "52000", "4", "1", "2", "1 in 8,000 passers-by (0.013%)",
                                                   "0", "0", "0"] for row in mine)


def test_the_pdf_states_them_per_deployment(client, dpo, seen):
    client.force_login(dpo)
    pdf = client.get("/retention/report.pdf", {"deployment": seen.pk, "justification": JUSTIFICATION})
    text = " ".join(page.extract_text() for page in PdfReader(io.BytesIO(pdf.content)).pages)
    text = " ".join(text.split())
    assert f"LFR-{seen.pk:05d} per passer-by: passers-by 8000, faces 52000" in text
    assert "candidates not confirmed 2" in text and "1 in 8,000 passers-by (0.013%)" in text
