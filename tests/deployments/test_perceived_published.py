"""The published record's table of false alerts by how the passer-by appeared (as the operator perceived it): counts
per age band, gender and ethnicity and those not recorded, said to be a perception, with nothing personal in it."""

import re

import pytest
from django.urls import reverse

from deployments import selectors
from deployments.choices import DeploymentStatus
from deployments.models import Deployment, DeploymentCounters
from matching.choices import PerceivedAgeBand, PerceivedEthnicity, PerceivedGender

pytestmark = pytest.mark.django_db
NOTE = "an operator's perception of how each passer-by wrongly alerted appeared"


def _erased(deployment, false_alerts: int, demographics: dict) -> Deployment:
    DeploymentCounters.objects.filter(deployment=deployment).update(
        erased_alerts=false_alerts + 1, erased_true_alerts=1, erased_false_alerts=false_alerts,
        erased_false_alert_demographics=demographics, tracks=9_000)
    Deployment.objects.filter(pk=deployment.pk).update(status=DeploymentStatus.ENDED,
                                                       went_live_at=deployment.starts_at, ended_at=deployment.ends_at)
    return Deployment.objects.select_related("counters", "watchlist_version").get(pk=deployment.pk)


def _card(page: str, reference: str) -> str:
    start = page.index(f'data-testid="published-{reference}"')
    end = page.find('<div class="govuk-summary-card"', start + 1)
    return page[start:end if end != -1 else len(page)]


def test_the_table_counts_each_group_and_those_not_recorded(client, scheduled):
    deployment = _erased(scheduled, 5, {
        "age_band": {"18_24": 3, "45_54": 1, "not_recorded": 1},
        "gender": {"male": 4, "not_recorded": 1},
        "ethnicity": {"asian": 2, "white": 2, "not_recorded": 1},
    })
    record = selectors.published_record(deployment)
    table = {a["key"]: a for a in record["false_alerts_by_appearance"]}
    assert [a["label"] for a in record["false_alerts_by_appearance"]] == ["Age band", "Gender", "Ethnicity"]
    assert [r["code"] for r in table["age_band"]["rows"]] == PerceivedAgeBand.values  # every group, zeros too
    assert [r["code"] for r in table["gender"]["rows"]] == PerceivedGender.values
    assert [r["code"] for r in table["ethnicity"]["rows"]] == PerceivedEthnicity.values
    assert {r["code"]: r["false_alerts"] for r in table["age_band"]["rows"]} == {
        "under_18": 0, "18_24": 3, "25_34": 0, "35_44": 0, "45_54": 1, "55_64": 0, "65_plus": 0}
    assert [table[k]["not_recorded"] for k in ("age_band", "gender", "ethnicity")] == [1, 1, 1]

    response = client.get(reverse("published:list"))
    assert response.status_code == 200
    page = response.content.decode()
    assert '<html lang="en-GB"' in page
    card = _card(page, record["reference"])
    assert "False alerts by how the passer-by appeared (as perceived by the operator)</caption>" in card
    assert 'data-testid="perceived-age_band-18_24">3<' in card and 'data-testid="perceived-gender-male">4<' in card
    assert 'data-testid="perceived-gender-female">0<' in card
    assert 'data-testid="perceived-ethnicity-not_recorded">1<' in card
    assert "<th scope=\"row\" class=\"govuk-table__header\">Black, Black British, Caribbean or African</th>" in card
    note = re.search(r'data-testid="perceived-note-[^"]+">([^<]+)<', card).group(1)
    assert NOTE in note.replace("&#x27;", "'") and "not data about identified people" in note
    # Counts only: no alert, no time of one, no image, no subject.
    table_html = card[card.index('data-testid="perceived-'):card.index("</table>")]
    assert "<img" not in table_html and "<time" not in table_html and "/alerts/" not in table_html
    assert "PNC-" not in table_html


def test_false_alerts_erased_before_the_attributes_existed_count_as_not_recorded(client, scheduled):
    deployment = _erased(scheduled, 3, {})
    table = {a["key"]: a for a in selectors.published_record(deployment)["false_alerts_by_appearance"]}
    assert all(table[k]["not_recorded"] == 3 and not any(r["false_alerts"] for r in table[k]["rows"])
               for k in table)
    card = _card(client.get(reverse("published:list")).content.decode(), f"LFR-{deployment.pk:05d}")
    assert 'data-testid="perceived-ethnicity-not_recorded">3<' in card


def test_a_group_no_longer_offered_still_counts_and_is_shown_as_text(client, scheduled):
    deployment = _erased(scheduled, 2, {"age_band": {"<script>alert(1)</script>": 1, "65_plus": 1},
                                        "gender": {"male": "lots", "female": True}})
    table = {a["key"]: a for a in selectors.published_record(deployment)["false_alerts_by_appearance"]}
    assert table["age_band"]["rows"][-1] == {"code": "<script>alert(1)</script>",
                                             "label": "<script>alert(1)</script>", "false_alerts": 1}
    assert table["age_band"]["not_recorded"] == 0
    assert table["gender"]["not_recorded"] == 2  # counts that are not numbers count as nothing
    page = client.get(reverse("published:list")).content.decode()
    assert "<script>alert(1)</script>" not in page and "&lt;script&gt;alert(1)&lt;/script&gt;" in page


def test_without_false_alerts_there_is_a_sentence_not_a_table(client, scheduled):
    page = client.get(reverse("published:list")).content.decode()
    card = _card(page, f"LFR-{scheduled.pk:05d}")
    assert 'data-testid="perceived-none-' in card and "<table" not in card
