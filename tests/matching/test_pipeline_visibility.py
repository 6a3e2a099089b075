"""When the worker cannot match a live deployment's frames, everyone who should know is told: the edge node (GET
status, and its frames refused with a reason), the deployment page and /healthz. And an alert whose row rolls
back leaves no probe crop behind."""

from pathlib import Path

import pytest
from django.conf import settings
from django.urls import reverse

from lfr_governance.audit.models import AuditEvent
from matching import frames, pipeline, selectors
from matching.models import Alert
from watchlists.choices import VersionStatus
from watchlists.models import ReferenceImage, WatchlistVersion

from .conftest import EDGE, jpeg_of

pytestmark = [pytest.mark.django_db, pytest.mark.usefixtures("fresh_worker_memory")]


def _tamper(live) -> None:
    """Templates that no longer make the authorised digest: only the worker, rebuilding its gallery, sees it."""
    image = ReferenceImage.objects.filter(entry__version=live.watchlist_version).first()
    ReferenceImage.objects.filter(pk=image.pk).update(template=bytes(image.template)[::-1])


def _status(client, node) -> dict:
    response = client.get(f"{EDGE}/status", HTTP_AUTHORIZATION=f"Bearer {node.token}")
    assert response.status_code == 200
    return response.json()


def test_a_problem_the_worker_finds_reaches_the_node_the_page_and_healthz(live, node, client, post_frame, face_bytes,
                                                                         published, dep_people):
    assert _status(client, node)["live"] is True
    _tamper(live)
    assert post_frame(node.token, jpeg_of(face_bytes("img2.jpg")), frame_id="v-1").status_code == 202
    assert pipeline.frame_process(**published[0]).status == "skipped"
    assert AuditEvent.objects.filter(event="matching.deployment_refused").count() == 1

    # The node: its status says frames are not accepted and why; its next frame is refused, not silently dropped.
    status = _status(client, node)
    assert status["live"] is False and "digest" in status["problem"]
    refused = post_frame(node.token, jpeg_of(face_bytes("img2.jpg")), frame_id="v-2")
    assert refused.status_code == 503, refused.content
    assert refused.json()["code"] == "not_matching" and "digest" in refused.json()["detail"]
    assert len(published) == 1 and frames.payload_keys() == []
    answer = selectors.edge_status(node=node, live=live)
    assert answer["live"] is False and "digest" in answer["problem"]

    # The deployment page: a banner from the view's context.
    client.force_login(dep_people["owner"])
    html = client.get(reverse("deployments:detail", args=[live.pk])).content.decode()
    assert 'data-testid="pipeline-problem"' in html and "digest" in html

    # /healthz: a failed check naming the deployment.
    check = client.get("/healthz").json()["checks"]["matching"]
    assert check["ok"] is False and "digest" in check["problems"][f"LFR-{live.pk:05d}"]


def test_a_version_destroyed_under_a_live_deployment_shows_before_any_frame(live, node, client, dep_people):
    # What the service now refuses, done behind its back: the check reads the database, not only the worker.
    WatchlistVersion.objects.filter(pk=live.watchlist_version_id).update(status=VersionStatus.DESTROYED)
    ReferenceImage.objects.filter(entry__version=live.watchlist_version).delete()
    assert _status(client, node)["live"] is False
    assert "destroyed" in selectors.deployment_problem(live)
    check = client.get("/healthz").json()["checks"]["matching"]
    assert check["ok"] is False and f"LFR-{live.pk:05d}" in check["problems"]
    client.force_login(dep_people["owner"])
    html = client.get(reverse("deployments:detail", args=[live.pk])).content.decode()
    assert 'data-testid="pipeline-problem"' in html and "destroyed" in html


def test_a_healthy_live_deployment_passes_the_check(live, client):
    assert client.get("/healthz").json()["checks"]["matching"] == {"ok": True, "live_deployments": 1}


def test_an_alert_whose_audit_fails_leaves_no_probe_crop(live, node, post_frame, face_bytes, published, monkeypatch):
    def broken(**kwargs):
        raise RuntimeError("audit log unavailable")

    post_frame(node.token, jpeg_of(face_bytes("img2.jpg")), frame_id="v-3")
    monkeypatch.setattr(pipeline, "record", broken)
    assert pipeline.frame_process(**published[0]).status == "failed"
    assert not Alert.objects.exists()
    root = Path(settings.MEDIA_ROOT)
    assert [p for p in root.rglob("*") if p.is_file() and p.relative_to(root).parts[0] == "alerts"] == []
