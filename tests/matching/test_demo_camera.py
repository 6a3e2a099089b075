"""The run command's demo camera makes one alert per person per appearance, not one per frame."""

from datetime import timedelta

import pytest
from django.core.management import call_command

from deployments import services as deployment_services
from deployments.models import Deployment
from lfr_governance import clock
from matching.models import Alert
from tools.demo.deployment import DEMO_TITLE

from .conftest import counters_of, wait_for

BURST = 6


@pytest.mark.worker
@pytest.mark.django_db(transaction=True)
def test_each_appearance_of_the_group_picture_is_one_alert_per_watchlisted_face(celery_worker_process, live_server,
                                                                                capsys):
    # The demo deployment starts a minute after demo_setup runs: set it up as if two minutes ago, so it is open now.
    with clock.set_to(clock.now() - timedelta(minutes=2)):
        call_command("demo_setup")
    deployment = Deployment.objects.get(title=DEMO_TITLE)
    deployment = deployment_services.deployment_go_live(deployment=deployment)
    entries = deployment.watchlist_version.entries.count()
    assert entries >= 3 and deployment.confirmation_frames == 2
    capsys.readouterr()
    call_command("demo_edge_feed", url=live_server.url, fps=8, burst=BURST, pause=0, cycles=1, wait=5)
    out = capsys.readouterr().out
    assert "t1.jpg: 202 queued" in out and f"Sent {BURST * 6} frame(s) in 1 pass(es)." in out, out
    wait_for(lambda: counters_of(deployment).frames_deleted == BURST * 6, 120, message="the demo camera's frames")
    alerts = list(Alert.objects.filter(deployment=deployment))
    # One alert per watchlisted face in the group picture, each seen in every frame of its appearance.
    assert len(alerts) == entries and len({a.entry_id for a in alerts}) == entries
    # Seen in the frames of the appearance from its first at threshold (one face hovers just above it: it may
    # confirm a frame late), never more than the burst.
    assert all(2 <= a.sighting_count <= BURST for a in alerts)
    assert sum(a.sighting_count for a in alerts) >= entries * BURST - 2
    counters = counters_of(deployment)
    assert counters.alerts == entries and counters.frames_processed == BURST * 6
