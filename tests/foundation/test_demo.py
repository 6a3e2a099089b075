import pytest
from django.contrib.auth.models import User
from django.core.management import call_command

from lfr_governance.accounts.choices import Role
from lfr_governance.accounts.roles import user_roles
from watchlists.models import Watchlist

pytestmark = pytest.mark.django_db


def test_demo_setup_is_idempotent_and_prints_logins(capsys):
    call_command("demo_setup")
    first = capsys.readouterr().out
    call_command("demo_setup")
    assert User.objects.count() == 6
    for role in Role:
        assert any(user_roles(u) == {role.value} for u in User.objects.all()), role
    # Random per install (no pattern), printed on every run from the 0600 copy under var/.
    from tools.demo.people import _logins_file, demo_password

    second = capsys.readouterr().out
    for username in ("intel", "dpo"):
        password = demo_password(username)
        assert len(password) >= 16 and username not in password and password in first and password in second
        assert User.objects.get(username=username).check_password(password)
    assert "-demo-2026" not in first and _logins_file().stat().st_mode & 0o777 == 0o600
    from deployments.models import Deployment
    from tools.demo.finished_deployment import TITLE
    from tools.demo.watchlist import DEMO_OPERATION

    version = Watchlist.objects.get(operation_name=DEMO_OPERATION).versions.get()
    assert version.status == "frozen" and version.size >= 3 and len(version.digest) == 64
    assert all(e.images.get().state == "accepted" for e in version.entries.all())
    # The live demo deployment is scheduled; the finished one has alerts, a hold and today's deletions.
    assert Deployment.objects.filter(status="scheduled").count() == 1
    finished = Deployment.objects.get(title=TITLE)
    assert finished.status == "reviewed" and finished.watchlist_version.status == "destroyed"
    # 18 passers-by, each in view for the 2 frames that confirm a match: 36 frames, and alerts for the enrolled faces.
    assert finished.alerts.count() == 1 and finished.counters.frames_deleted == 36
    assert finished.confirmation_frames == 2 and finished.counters.tracks_alerted >= 12
    assert Watchlist.objects.count() == 2 and Deployment.objects.count() == 2
