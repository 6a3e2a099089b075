"""Retention, subject lookup and published figures by registration: each app declares what it owns."""

import pytest

from lfr_governance.registry import DataKind, _Registry, registry
from lfr_governance.retention.kinds import data_kinds


def test_each_kind_is_declared_by_the_app_that_owns_the_data():
    kinds = {kind.key: kind for kind in data_kinds()}
    assert [kind.key for kind in data_kinds()] == [
        "non_match_biometrics", "alerts", "watchlist_images", "records", "audit_log"]
    assert kinds["alerts"].purge.__module__ == "matching.retention"
    assert kinds["non_match_biometrics"].evidence.__module__ == "matching.retention"
    assert kinds["watchlist_images"].due.__module__ == "deployments.retention"
    assert kinds["records"].due is None and kinds["audit_log"].due is None


def test_a_period_follows_the_settings_in_force(settings):
    settings.LFR_RETENTION = {**settings.LFR_RETENTION, "alerts_days": 7}
    assert {kind.key: kind.period for kind in data_kinds()}["alerts"] == "7 days"


def test_subject_lookups_and_the_hold_target_come_from_the_apps():
    assert [(lookup.key, lookup.records.__module__) for lookup in registry.subject_lookups()] == [
        ("entries", "watchlists.subjects"), ("alerts", "matching.retention")]
    assert registry.hold_target().label == "alert"
    assert registry.report_units().label == "deployment"


def test_two_apps_cannot_claim_the_same_kind():
    fresh = _Registry()
    fresh.register_data_kinds(lambda: [DataKind("alerts", "A", "1 day", "x", order=1)])
    fresh.register_data_kinds(lambda: [DataKind("alerts", "B", "2 days", "y", order=2)])
    with pytest.raises(RuntimeError, match="same data kind"):
        fresh.data_kinds()


def test_an_empty_registry_says_what_is_missing():
    fresh = _Registry()
    with pytest.raises(RuntimeError, match="report's units"):
        fresh.report_units()
    with pytest.raises(RuntimeError, match="legal hold"):
        fresh.hold_target()
    assert fresh.published_figures(object()) == {}
