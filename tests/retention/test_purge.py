"""Retention purge with a controllable clock: each kind is deleted exactly when due, once, visibly."""

import threading
from datetime import timedelta

import pytest
from django.core.files.storage import default_storage
from django.db import connection
from django.utils import timezone

from deployments import retention as deployment_retention
from deployments.choices import DeploymentStatus
from deployments.models import Deployment
from lfr_governance.audit.models import AuditEvent
from lfr_governance.retention import kinds, services
from lfr_governance.retention.models import PurgeRun
from tests.deployments.conftest import (  # noqa: F401  (shared fixtures)
    application, authorised, dep_people, node, scheduled, window,
)
from tests.watchlists.conftest import add_entry, face_bytes, frozen, people, watchlist  # noqa: F401
from watchlists.models import ReferenceImage


def _ended(deployment, at):
    Deployment.objects.filter(pk=deployment.pk).update(status=DeploymentStatus.ENDED, ended_at=at)
    return at


@pytest.mark.django_db
def test_watchlist_images_go_24_hours_after_the_deployment_ends_and_not_before(scheduled,
                                                                              django_capture_on_commit_callbacks):
    version = scheduled.watchlist_version
    files = [img.image.name for img in ReferenceImage.objects.filter(entry__version=version)]
    end = _ended(scheduled, timezone.now() - timedelta(hours=30))
    assert services.purge_run(now=end + timedelta(hours=23, minutes=59)).deleted["watchlist_images"] == 0
    assert ReferenceImage.objects.filter(entry__version=version).count() == 3
    assert files and all(default_storage.exists(name) for name in files)
    with django_capture_on_commit_callbacks(execute=True):  # the files are deleted once the rows are committed
        run = services.purge_run(now=end + timedelta(hours=24))
    assert run.deleted["watchlist_images"] == 1 and run.status == "succeeded"
    version.refresh_from_db()
    assert version.status == "destroyed" and version.manifest.entries
    assert not ReferenceImage.objects.filter(entry__version=version).exists()
    assert not any(default_storage.exists(name) for name in files)  # the files go with the rows
    erasures = AuditEvent.objects.filter(action="erasure", event="watchlist.image_destroy")
    assert erasures.count() == 3 and all(e.actor_label == "retention purge job" for e in erasures)
    # Idempotent: the next run finds nothing more to do.
    assert services.purge_run(now=end + timedelta(hours=25)).deleted["watchlist_images"] == 0



@pytest.mark.django_db(transaction=True)
def test_files_are_deleted_with_the_rows(scheduled):
    files = [img.image.name for img in ReferenceImage.objects.filter(entry__version=scheduled.watchlist_version)]
    assert files and all(default_storage.exists(name) for name in files)
    end = _ended(scheduled, timezone.now() - timedelta(hours=25))
    services.purge_run(now=end + timedelta(hours=25))
    assert not any(default_storage.exists(name) for name in files)


@pytest.mark.django_db
def test_a_version_still_used_by_a_live_deployment_is_kept(scheduled):
    Deployment.objects.filter(pk=scheduled.pk).update(status=DeploymentStatus.LIVE)
    assert services.purge_run(now=timezone.now() + timedelta(days=3)).deleted["watchlist_images"] == 0


@pytest.mark.django_db(transaction=True)
def test_two_concurrent_runs_delete_once(scheduled):
    end = _ended(scheduled, timezone.now() - timedelta(hours=30))
    results, barrier = [], threading.Barrier(2)

    def run():
        barrier.wait()
        try:
            results.append(services.purge_run(now=end + timedelta(hours=25)))
        finally:
            connection.close()

    threads = [threading.Thread(target=run) for _ in range(2)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(60)
    assert AuditEvent.objects.filter(event="watchlist.version_destroy").count() == 1
    done = [r for r in results if r is not None]
    assert sum(r.deleted.get("watchlist_images", 0) for r in done) == 1


@pytest.mark.django_db
def test_a_failing_run_is_recorded_and_the_next_one_catches_up(scheduled, monkeypatch):
    end = _ended(scheduled, timezone.now() - timedelta(hours=30))
    real = deployment_retention._watchlist_version_purge

    def broken(version):
        raise OSError("media volume not mounted")

    monkeypatch.setattr(deployment_retention, "_watchlist_version_purge", broken)
    failed = services.purge_run(now=end + timedelta(hours=25))
    assert failed.status == "failed" and "media volume not mounted" in failed.errors[0]["error"]
    assert services.last_successful_purge() != failed
    assert services.overdue_counts(now=end + timedelta(hours=25))["watchlist_images"] == 1
    monkeypatch.setattr(deployment_retention, "_watchlist_version_purge", real)
    ok = services.purge_run(now=end + timedelta(hours=25))
    assert ok.status == "succeeded" and ok.deleted["watchlist_images"] == 1
    assert services.last_successful_purge() == ok
    assert services.overdue_counts(now=end + timedelta(hours=25))["watchlist_images"] == 0
    assert list(PurgeRun.objects.filter(pk__in=[failed.pk, ok.pk]).values_list("status", flat=True)) == \
        ["succeeded", "failed"]


@pytest.mark.django_db
def test_overdue_rises_while_the_job_is_stopped_and_falls_after_it_runs(scheduled, settings):
    end = _ended(scheduled, timezone.now() - timedelta(hours=24, minutes=5))
    settings.LFR_PURGE_GRACE_MINUTES = 15
    assert services.overdue_counts(now=end + timedelta(hours=24, minutes=10))["watchlist_images"] == 0
    assert services.overdue_counts(now=end + timedelta(hours=24, minutes=20))["watchlist_images"] == 1
    services.purge_run(now=end + timedelta(hours=24, minutes=20))
    assert services.overdue_counts(now=end + timedelta(hours=24, minutes=20))["watchlist_images"] == 0


def test_the_policy_lists_every_kind_with_its_period(settings):
    table = {k.key: k for k in kinds.data_kinds()}
    assert set(table) == {"non_match_biometrics", "alerts", "watchlist_images", "records", "audit_log"}
    assert table["alerts"].period == f"{settings.LFR_RETENTION['alerts_days']} days"
    assert table["non_match_biometrics"].period == "None kept"
