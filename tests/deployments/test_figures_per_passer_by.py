"""Figures per passer-by: the published record and its feeds, and the deployment page's counts.

The counts are set on DeploymentCounters as the pipeline keeps them (tracks = passers-by, candidates, tracks
alerted, sightings); false alerts are the outcomes kept as numbers for alerts retention erased, which the published
record counts alike with the alerts still held.
"""

import csv
import io
from datetime import timedelta

import pytest
from django.urls import reverse
from django.utils import timezone
from rest_framework.test import APIClient

from deployments import selectors, services
from deployments.choices import DeploymentStatus
from deployments.models import Deployment, DeploymentCounters
from lfr_governance.rates import PerPasserBy, percent_text

pytestmark = pytest.mark.django_db
S = DeploymentStatus
NEW_FIELDS = ["confirmation_frames", "passers_by", "passers_by_alerted", "candidates", "candidates_not_confirmed",
              "sightings", "false_alert_rate", "false_alert_one_in"]
# The published columns before the figures per passer-by, in the order feeds have always had them.
OLD_FIELDS = ["reference", "date", "place", "latitude", "longitude", "starts_at", "ends_at", "duration_minutes",
              "status", "purpose", "watchlist_size", "faces_processed", "frames_processed", "alerts", "true_alerts",
              "false_alerts", "engagements", "arrests", "threshold", "model_pack", "signs", "leaflets"]


def _counted(deployment, **counts) -> Deployment:
    DeploymentCounters.objects.filter(deployment=deployment).update(**counts)
    return Deployment.objects.select_related("counters", "watchlist_version").get(pk=deployment.pk)


@pytest.fixture
def seen(scheduled):
    """A deployment that went live and saw 12,000 passers-by: 3 alerts (2 false), 5 candidates, 3 of them alerted."""
    Deployment.objects.filter(pk=scheduled.pk).update(status=S.ENDED, went_live_at=scheduled.starts_at,
                                                      ended_at=scheduled.ends_at)
    return _counted(scheduled, frames_processed=90_000, faces_detected=150_000, tracks=12_000, candidates=5,
                    tracks_alerted=3, sightings=17, erased_alerts=3, erased_false_alerts=2, erased_true_alerts=1)


# --- The wording ---------------------------------------------------------------------------------


@pytest.mark.parametrize("count, passers_by, text, one_in, rate", [
    (0, 0, "no passers-by yet", None, None),
    (3, 0, "no passers-by yet", None, None),
    (0, 12_000, "none in 12,000 passers-by (0%)", None, 0.0),
    (2, 12_000, "1 in 6,000 passers-by (0.017%)", 6_000, 2 / 12_000),
    (10, 3_147_436, "1 in 314,744 passers-by (0.00032%)", 314_744, 10 / 3_147_436),  # the Met, 2024-25, per face
    (1, 1_000, "1 in 1,000 passers-by (0.10%)", 1_000, 0.001),
    (1, 3, "1 in 3 passers-by (33.3%)", 3, 1 / 3),
    (3, 2, "3 in 2 passers-by (150%)", 1, 1.5),
    (1, 1, "1 in 1 passer-by (100%)", 1, 1.0),
])
def test_a_rate_per_passer_by_reads_as_one_in_n_and_a_percentage(count, passers_by, text, one_in, rate):
    figure = PerPasserBy(count, passers_by)
    assert figure.text == str(figure) == text and figure.one_in == one_in
    assert figure.rate == (pytest.approx(rate) if rate is not None else None)


@pytest.mark.parametrize("fraction, text", [(0, "0%"), (0.5, "50%"), (0.125, "12.5%"), (0.01, "1%"),
                                            (0.001, "0.10%"), (0.000318, "0.032%"), (1e-7, "0.000010%")])
def test_percentages_keep_two_significant_figures_below_one_percent(fraction, text):
    assert percent_text(fraction) == text


# --- The published record and its feeds ---------------------------------------------------------------


def test_the_record_counts_per_passer_by(seen):
    record = selectors.published_record(seen)
    assert record["passers_by"] == 12_000 and record["faces_processed"] == 150_000
    assert record["alerts"] == 3 and record["true_alerts"] == 1 and record["false_alerts"] == 2
    assert record["candidates"] == 5 and record["passers_by_alerted"] == 3 and record["candidates_not_confirmed"] == 2
    assert record["sightings"] == 17 and record["confirmation_frames"] == 2
    assert record["false_alert_rate"] == pytest.approx(2 / 12_000) and record["false_alert_one_in"] == 6_000


def test_no_passers_by_is_no_rate_not_a_division_by_zero(scheduled):
    record = selectors.published_record(_counted(scheduled, erased_alerts=1, erased_false_alerts=1))
    assert record["passers_by"] == 0 and record["false_alerts"] == 1
    assert record["false_alert_rate"] is None and record["false_alert_one_in"] is None
    assert selectors.false_alert_rate(record).text == "no passers-by yet"


def test_candidates_not_confirmed_never_go_below_zero(scheduled):
    # Alerted tracks include later appearances joined to an open alert, so they may outnumber the candidates counted.
    record = selectors.published_record(_counted(scheduled, tracks=10, candidates=1, tracks_alerted=2))
    assert record["candidates_not_confirmed"] == 0


def test_the_feeds_keep_their_columns_and_add_the_figures_per_passer_by(seen):
    anonymous = APIClient()
    records = anonymous.get("/api/v1/published/").json()
    assert list(records[0]) == OLD_FIELDS + NEW_FIELDS  # added after, so old readers of the CSV keep their columns
    record = records[0]
    assert record["passers_by"] == 12_000 and record["false_alert_one_in"] == 6_000
    assert record["false_alert_rate"] == pytest.approx(2 / 12_000)
    rows = list(csv.reader(io.StringIO(anonymous.get("/api/v1/published.csv").content.decode())))
    assert rows[0] == OLD_FIELDS + NEW_FIELDS
    row = dict(zip(rows[0], rows[1]))
    assert row["passers_by"] == "12000" and row["candidates_not_confirmed"] == "2"
    assert row["false_alert_one_in"] == "6000"


def test_the_feeds_publish_no_rate_as_null_and_an_empty_cell(scheduled):
    anonymous = APIClient()
    assert anonymous.get("/api/v1/published/").json()[0]["false_alert_rate"] is None
    rows = list(csv.DictReader(io.StringIO(anonymous.get("/api/v1/published.csv").content.decode())))
    assert rows[0]["false_alert_rate"] == "" and rows[0]["false_alert_one_in"] == "" and rows[0]["passers_by"] == "0"


def test_the_schema_documents_the_figures_per_passer_by(dep_people):
    client = APIClient()
    client.force_login(dep_people["owner"])
    schema = client.get("/api/v1/schema/", {"format": "json"}).json()["components"]["schemas"]["PublishedRecord"]
    for name in NEW_FIELDS:
        assert name in schema["properties"] and schema["properties"][name].get("description"), name
    assert schema["properties"]["false_alert_rate"]["nullable"] is True


def test_the_published_page_states_the_rate_per_passer_by(client, seen):
    page = client.get(reverse("published:list")).content.decode()
    assert 'data-testid="figure-passers_by">12000<' in page
    assert 'data-testid="figure-false_alert_rate">1 in 6,000 passers-by (0.017%)<' in page
    assert 'data-testid="figure-candidates_not_confirmed">2<' in page and "fewer than 2 frames" in page
    assert "confirmed in at least 2 frames" in page and "false alerts divided by passers-by" in page


def test_the_published_page_says_no_passers_by_yet(client, scheduled):
    page = client.get(reverse("published:list")).content.decode()
    assert 'data-testid="figure-false_alert_rate">no passers-by yet<' in page


# --- The deployment page -----------------------------------------------------------------------------


def test_the_deployment_page_counts_per_passer_by(client, seen, dep_people):
    client.force_login(dep_people["owner"])
    page = client.get(reverse("deployments:detail", args=[seen.pk])).content.decode()
    assert 'data-testid="counters"' in page
    assert 'data-testid="figure-passers_by">12000<' in page
    assert "3 (1 confirmed, 2 false); 17 sightings of the people alerted" in page
    assert 'data-testid="figure-candidates_not_confirmed">2<' in page and "(5 candidates in all)" in page
    assert 'data-testid="figure-false_alert_rate">1 in 6,000 passers-by (0.017%)<' in page


def test_the_deployment_page_says_no_passers_by_yet_once_live(client, scheduled, dep_people):
    Deployment.objects.filter(pk=scheduled.pk).update(status=S.LIVE, went_live_at=timezone.now() - timedelta(minutes=1))
    client.force_login(dep_people["owner"])
    page = client.get(reverse("deployments:detail", args=[scheduled.pk])).content.decode()
    assert 'data-testid="figure-false_alert_rate">no passers-by yet<' in page


def test_the_deployment_page_has_no_counts_before_it_goes_live(client, scheduled, dep_people):
    client.force_login(dep_people["owner"])
    page = client.get(reverse("deployments:detail", args=[scheduled.pk])).content.decode()
    assert 'data-testid="counters"' not in page


def test_the_figures_follow_the_counters_as_the_pipeline_adds_to_them(seen, dep_people):
    services.deployment_review(actor=dep_people["owner"], deployment=seen, what_happened="Two false alerts.")
    later = _counted(seen, tracks=24_000)
    assert selectors.published_record(later)["false_alert_one_in"] == 12_000
