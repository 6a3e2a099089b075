"""Retention erases false alerts, not their figures: how each passer-by wrongly alerted appeared (as the operator
perceived it) is added to the deployment's counts as the alert goes, so the published record keeps its table."""

from datetime import timedelta

import pytest
from django.urls import reverse
from django.utils import timezone

from deployments.models import DeploymentCounters
from deployments.selectors import published_record
from lfr_governance.audit.models import AuditEvent
from lfr_governance.retention import services as retention
from matching import services
from matching.models import Alert
from tests.matching.conftest import (  # noqa: F401  (fixtures)
    _clean_redis_keys, add_entry, application, authorised, dep_people, face_bytes, frozen, live, node, people,
    scheduled, watchlist, window,
)
from tests.matching.test_console import make_alert  # noqa: F401  (fixture)

pytestmark = pytest.mark.django_db
# (decision, perceived) of six passers-by: four false alerts, one not recorded at all.
DECIDED = [
    ("false_alert", {"perceived_age_band": "25_34", "perceived_gender": "male", "perceived_ethnicity": "white"}),
    ("false_alert", {"perceived_age_band": "25_34", "perceived_gender": "female"}),
    ("false_alert", {"perceived_ethnicity": "black"}),
    ("false_alert", {}),
    ("confirmed", {}),
    ("undetermined", {}),
]
ERASED = {
    "age_band": {"25_34": 2, "not_recorded": 2},
    "gender": {"male": 1, "female": 1, "not_recorded": 2},
    "ethnicity": {"white": 1, "black": 1, "not_recorded": 2},
}


def _table(record) -> dict:
    """The published table as {attribute: {code: count, "not_recorded": count}}."""
    return {attribute["key"]: {**{row["code"]: row["false_alerts"] for row in attribute["rows"]},
                               "not_recorded": attribute["not_recorded"]}
            for attribute in record["false_alerts_by_appearance"]}


def _cell(html: str, testid: str) -> str:
    marker = f'data-testid="{testid}">'
    start = html.index(marker) + len(marker)
    return html[start:html.index("<", start)]


def test_erased_false_alerts_keep_how_the_passers_by_appeared_in_the_published_record(
        live, make_alert, dep_people, client, django_capture_on_commit_callbacks):
    operator = dep_people["operator"]
    alerts = []
    for index, (decision, perceived) in enumerate(DECIDED):
        alert = make_alert(index % 3)
        services.alert_adjudicate(actor=operator, alert=alert, decision=decision, perceived=perceived)
        alerts.append(alert)
    before = published_record(live)
    table = _table(before)
    assert before["false_alerts"] == 4
    assert table["age_band"]["25_34"] == 2 and table["age_band"]["not_recorded"] == 2
    assert table["gender"] == {"female": 1, "male": 1, "not_recorded": 2}
    assert table["ethnicity"]["white"] == table["ethnicity"]["black"] == 1
    assert table["ethnicity"]["not_recorded"] == 2 and table["ethnicity"]["asian"] == 0
    page = client.get(reverse("published:list")).content.decode()
    reference = before["reference"]
    assert _cell(page, "perceived-age_band-25_34") == "2" and _cell(page, "perceived-gender-not_recorded") == "2"

    # Retention: all six alerts are past their 31 days.
    Alert.objects.filter(pk__in=[a.pk for a in alerts]).update(alerted_at=timezone.now() - timedelta(days=40))
    with django_capture_on_commit_callbacks(execute=True):
        run = retention.purge_run()
    assert run.deleted["alerts"] == 6 and not Alert.objects.exists()
    counters = DeploymentCounters.objects.get(deployment=live)
    assert counters.erased_false_alert_demographics == ERASED
    assert counters.erased_false_alerts == 4
    # The erasure audit names the record, never what it held.
    erasures = AuditEvent.objects.filter(event="alert.erase")
    assert erasures.count() == 6 and not any("perceived" in str(e.changes) for e in erasures)

    after = published_record(live)
    assert after["false_alerts_by_appearance"] == before["false_alerts_by_appearance"]
    page = client.get(reverse("published:list")).content.decode()
    assert f'data-testid="perceived-{reference}"' in page
    assert _cell(page, "perceived-age_band-25_34") == "2" and _cell(page, "perceived-ethnicity-black") == "1"
    assert _cell(page, "perceived-gender-not_recorded") == "2" and _cell(page, "perceived-age_band-under_18") == "0"

    # A false alert decided later adds to the erased counts; its own erasure adds to them again.
    late = make_alert(0)
    services.alert_adjudicate(actor=operator, alert=late, decision="false_alert",
                              perceived={"perceived_age_band": "25_34", "perceived_gender": "male"})
    assert _table(published_record(live))["age_band"]["25_34"] == 3
    Alert.objects.filter(pk=late.pk).update(alerted_at=timezone.now() - timedelta(days=40))
    with django_capture_on_commit_callbacks(execute=True):
        retention.purge_run()
    counters.refresh_from_db()
    assert counters.erased_false_alert_demographics["age_band"] == {"25_34": 3, "not_recorded": 2}
    assert counters.erased_false_alert_demographics["ethnicity"] == {"white": 1, "black": 1, "not_recorded": 3}
    assert _table(published_record(live))["ethnicity"]["not_recorded"] == 3
