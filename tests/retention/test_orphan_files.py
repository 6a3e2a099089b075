"""Files in the media folder that no row references: the proof of deletion reports them, the purge erases them."""

import os
import time
from pathlib import Path

import pytest
from django.conf import settings
from django.core.management import call_command
from django.core.management.base import CommandError

from lfr_governance.accounts.choices import Role
from lfr_governance.audit.models import AuditEvent
from lfr_governance.retention import services
from tests.watchlists.conftest import add_entry, face_bytes, frozen, people, watchlist  # noqa: F401
from watchlists.models import ReferenceImage

pytestmark = pytest.mark.django_db


def plant(name: str, age_minutes: float) -> Path:
    path = Path(settings.MEDIA_ROOT) / name
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_bytes(b"\xff\xd8\xff\xe0 a face image left behind")
    then = time.time() - age_minutes * 60
    os.utime(path, (then, then))
    return path


def test_an_orphan_is_reported_and_erased_after_its_grace_period(frozen, settings, capsys):
    settings.LFR_ORPHAN_FILE_GRACE_MINUTES = 60
    kept = [img.image.name for img in ReferenceImage.objects.all()]
    old = plant("watchlists/999/left-behind.img", age_minutes=120)
    fresh = plant("signage/999/being-written.img", age_minutes=1)

    with pytest.raises(CommandError, match=r"trace\(s\)"):
        call_command("verify_no_residue")
    out = capsys.readouterr().out
    assert "FOUND media: watchlists/999/left-behind.img" in out
    assert "FOUND media: signage/999/being-written.img" in out

    run = services.purge_run()
    assert run.status == "succeeded" and run.deleted["orphan_files"] == 1
    assert not old.exists() and fresh.exists()  # a file younger than the grace period may be in a transaction
    assert all(ReferenceImage.objects.get(image=name).image.storage.exists(name) for name in kept)
    erasure = AuditEvent.objects.get(event="retention.orphan_file_erase")
    assert erasure.action == "erasure" and erasure.actor_label == "retention purge job"
    assert erasure.changes["path"] == "watchlists/999/left-behind.img"
    assert "face image" not in str(erasure.changes)  # the path, never the content

    fresh.unlink()
    call_command("verify_no_residue")
    assert capsys.readouterr().out.strip().endswith("Nothing found.")


def test_the_dpo_report_shows_orphans_held_and_erased(client, frozen, make_user, settings):
    settings.LFR_ORPHAN_FILE_GRACE_MINUTES = 60
    plant("alerts/999/old.jpg", age_minutes=90)
    plant("alerts/999/new.jpg", age_minutes=1)
    client.force_login(make_user("dpo-o", Role.DPO))
    html = client.get("/retention/").content.decode()
    assert 'data-testid="orphan-files"' in html
    assert "2 files referenced by no record" in html and "1 past its grace period" in html
    services.purge_run()
    html = client.get("/retention/").content.decode()
    assert "1 file referenced by no record" in html and "1 erased" in html
