"""The one clock: set per context for the demo's replay, frozen per process by the tests' fixture."""

import threading
from datetime import datetime, timedelta, timezone as dt_timezone

import pytest
from django.utils import timezone

from lfr_governance import clock as app_clock
from tests.watchlists.conftest import people  # noqa: F401  (shared fixture)
from watchlists.models import Watchlist

PAST = datetime(2026, 3, 29, 0, 30, tzinfo=dt_timezone.utc)  # the night the clocks go forward


def test_set_to_moves_this_context_only_and_returns():
    seen_elsewhere = []
    with app_clock.set_to(PAST):
        assert app_clock.now() == PAST
        worker = threading.Thread(target=lambda: seen_elsewhere.append(app_clock.now()))
        worker.start()
        worker.join()
        app_clock.move_to(PAST + timedelta(hours=1))
        assert app_clock.now() == PAST + timedelta(hours=1)
        assert app_clock.localtime().utcoffset() == timedelta(hours=1)  # 02:30 BST, after the change
    assert abs(seen_elsewhere[0] - timezone.now()) < timedelta(minutes=1)
    assert abs(app_clock.now() - timezone.now()) < timedelta(seconds=5)


def test_move_to_outside_set_to_and_naive_moments_are_refused():
    with pytest.raises(RuntimeError):
        app_clock.move_to(PAST)
    with pytest.raises(ValueError):
        with app_clock.set_to(datetime(2026, 1, 1)):
            pass


def test_the_fixture_moves_every_thread(clock):
    clock.set(PAST)
    seen = []
    worker = threading.Thread(target=lambda: seen.append(app_clock.now()))
    worker.start()
    worker.join()
    assert seen == [PAST] and clock.now() == PAST


@pytest.mark.django_db
def test_model_timestamps_follow_the_clock(people):
    with app_clock.set_to(PAST):
        from watchlists import services

        watchlist = services.watchlist_create(actor=people["owner"], operation_name="Operation Clock",
                                              objective="Testing the clock.", intelligence_case_ref="CASE/CLOCK/1")
    assert Watchlist.objects.get(pk=watchlist.pk).created_at == PAST


def test_the_clock_field_migrates_as_a_plain_datetime_field():
    field = Watchlist._meta.get_field("created_at")
    assert field.deconstruct()[1] == "django.db.models.DateTimeField"
