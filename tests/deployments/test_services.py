from datetime import timedelta

import pytest
from django.core.exceptions import PermissionDenied, ValidationError
from django.utils import timezone

from deployments import selectors, services
from deployments.choices import TRANSITIONS, DeploymentStatus, transition_allowed
from deployments.models import Deployment, EdgeNode
from lfr_governance.audit.models import AuditEvent

from .calibration_fixture import expected_proposal
from .conftest import APPLICATION

pytestmark = pytest.mark.django_db
S = DeploymentStatus


@pytest.fixture
def clock(monkeypatch):
    """A controllable clock: clock.set(t) makes timezone.now() answer t everywhere."""

    class Clock:
        def set(self, moment):
            monkeypatch.setattr(timezone, "now", lambda: moment)

    return Clock()


def test_transition_table_every_pair():
    allowed = {(a, b) for a, targets in TRANSITIONS.items() for b in targets}
    for a in S.values:
        for b in S.values:
            assert transition_allowed(a, b) == ((a, b) in allowed)
    # Cancelled is reachable from every state before ended, and from none after.
    for state in (S.DRAFT, S.SUBMITTED, S.AUTHORISED, S.REJECTED, S.SCHEDULED, S.LIVE):
        assert transition_allowed(state, S.CANCELLED)
    for state in (S.ENDED, S.REVIEWED, S.CANCELLED):
        assert not transition_allowed(state, S.CANCELLED)


def _place_sign(deployment, people, at):
    return services.signage_record_add(actor=people["owner"], deployment=deployment, position_description="Lamp post 14",
                                       latitude="51.507500", longitude="-0.127700", size="A1", placed_at=at)


def test_the_whole_life_of_a_deployment(application, dep_people, clock, window):
    assert application.status == S.DRAFT
    services.deployment_submit(actor=dep_people["owner"], deployment=application, authorising_officer=dep_people["ao"])
    auth = services.deployment_authorise(actor=dep_people["ao"], deployment=application, reasons="Proportionate.")
    assert auth.bound_watchlist_digest == application.watchlist_version.digest
    assert auth.estimate["watchlist_size"] == 3 and auth.estimate["footfall"] == 8000
    services.deployment_schedule(actor=dep_people["owner"], deployment=application)
    start, end = window
    # Before the start nothing opens; at the start, without signage, it stays scheduled.
    assert services.deployments_schedule_tick(now=start - timedelta(minutes=1))["opened"] == []
    clock.set(start + timedelta(seconds=5))
    assert services.deployments_schedule_tick()["not_ready"] == [application.pk]
    _place_sign(application, dep_people, start)
    assert services.deployments_schedule_tick()["opened"] == [application.pk]
    application.refresh_from_db()
    assert application.status == S.LIVE and application.went_live_at
    clock.set(end - timedelta(seconds=1))
    assert services.deployments_schedule_tick() == {"opened": [], "closed": [], "not_ready": []}
    clock.set(end)
    assert services.deployments_schedule_tick()["closed"] == [application.pk]
    application.refresh_from_db()
    assert application.status == S.ENDED
    services.deployment_review(actor=dep_people["owner"], deployment=application, what_happened="Two arrests.")
    application.refresh_from_db()
    assert application.status == S.REVIEWED
    events = list(AuditEvent.objects.filter(deployment_id=application.pk).order_by("id").values_list("event", flat=True))
    assert events == ["deployment.create", "deployment.submit", "deployment.authorise", "deployment.schedule",
                      "deployment.signage_add", "deployment.go_live", "deployment.end", "deployment.review"]


def test_refused_transitions(application, dep_people):
    with pytest.raises(ValidationError, match="cannot become scheduled"):
        services.deployment_schedule(actor=dep_people["owner"], deployment=application)
    with pytest.raises(ValidationError, match="not scheduled"):
        services.deployment_go_live(deployment=application)
    with pytest.raises(ValidationError, match="cannot become ended"):
        services.deployment_end(deployment=application)
    with pytest.raises(ValidationError, match="cannot become reviewed"):
        services.deployment_review(actor=dep_people["owner"], deployment=application, what_happened="x")
    services.deployment_cancel(actor=dep_people["owner"], deployment=application, reason="Intelligence changed.")
    with pytest.raises(ValidationError, match="cannot become submitted"):
        services.deployment_submit(actor=dep_people["owner"], deployment=application,
                                   authorising_officer=dep_people["ao"])


def test_applicant_cannot_authorise_and_rank_must_be_enough(application, dep_people, make_user):
    from lfr_governance.accounts.choices import Rank, Role

    both = make_user("both", Role.INTELLIGENCE_OFFICER, Role.AUTHORISING_OFFICER, rank=Rank.SUPERINTENDENT)
    own = services.deployment_create(actor=both, watchlist_version=application.watchlist_version,
                                     edge_nodes=list(application.edge_nodes.all()), starts_at=application.starts_at,
                                     ends_at=application.ends_at, **APPLICATION)
    with pytest.raises(ValidationError, match="cannot authorise their own"):
        services.deployment_submit(actor=both, deployment=own, authorising_officer=both)
    with pytest.raises(ValidationError, match="Chief Inspector"):
        services.deployment_submit(actor=dep_people["owner"], deployment=application,
                                   authorising_officer=dep_people["chief_inspector"])
    services.deployment_submit(actor=dep_people["owner"], deployment=application, authorising_officer=dep_people["ao"])
    # Another officer who was not named cannot decide it.
    with pytest.raises(PermissionDenied):
        services.deployment_authorise(actor=dep_people["ao2"], deployment=application, reasons="x")
    with pytest.raises(ValidationError, match="reasons"):
        services.deployment_reject(actor=dep_people["ao"], deployment=application, reasons=" ")
    services.deployment_reject(actor=dep_people["ao"], deployment=application, reasons="Footfall estimate unsupported.")
    application.refresh_from_db()
    assert application.status == S.REJECTED


def test_rank_below_minimum_cannot_decide_even_if_named(application, dep_people, settings):
    services.deployment_submit(actor=dep_people["owner"], deployment=application, authorising_officer=dep_people["ao"])
    settings.LFR_AO_MIN_RANK = "chief_superintendent"
    with pytest.raises(PermissionDenied, match="Superintendent"):
        services.deployment_authorise(actor=dep_people["ao"], deployment=application, reasons="ok")


@pytest.mark.parametrize("change", [
    {"threshold": 0.6},
    {"confirmation_frames": 3},
    {"location_name": "Market Square"},
    {"ends_at": "later"},
    {"edge_nodes": "other"},
    {"watchlist_version": "new"},
])
def test_changing_what_was_authorised_returns_to_draft(scheduled, dep_people, change, add_entry, face_bytes):
    from watchlists import services as wl

    kwargs = dict(change)
    if change.get("ends_at") == "later":
        kwargs["ends_at"] = scheduled.ends_at + timedelta(minutes=30)
    if change.get("edge_nodes") == "other":
        other, _ = services.edge_node_register(actor=dep_people["admin"], name="Van 8", camera_description="x")
        kwargs["edge_nodes"] = [other]
    if change.get("watchlist_version") == "new":
        watchlist = scheduled.watchlist_version.watchlist
        entry = scheduled.watchlist_version.entries.first()
        edited = wl.entry_update(actor=dep_people["owner"], entry=entry, justification="New intelligence.")
        wl.entry_review(actor=dep_people["reviewer"], entry=edited, approve=True)
        kwargs["watchlist_version"] = wl.watchlist_freeze(actor=dep_people["owner"], watchlist=watchlist)
    services.deployment_update(actor=dep_people["owner"], deployment=scheduled, **kwargs)
    scheduled.refresh_from_db()
    assert scheduled.status == S.DRAFT
    assert selectors.current_authorisation(scheduled) is None
    assert AuditEvent.objects.filter(event="deployment.return_to_draft", deployment_id=scheduled.pk).exists()


def test_a_change_outside_the_binding_keeps_the_authorisation(scheduled, dep_people):
    services.deployment_update(actor=dep_people["owner"], deployment=scheduled, engagement_notes="Added a briefing.")
    scheduled.refresh_from_db()
    assert scheduled.status == S.SCHEDULED and selectors.current_authorisation(scheduled)


def test_threshold_below_the_proposal_needs_a_justification(application, dep_people):
    floor = expected_proposal(application.watchlist_version.size)  # the colour proposal
    assert application.threshold == floor  # the default is the proposal from the target
    with pytest.raises(ValidationError) as exc:
        services.deployment_update(actor=dep_people["owner"], deployment=application, threshold=floor - 0.05)
    assert "threshold_justification" in exc.value.message_dict
    services.deployment_update(actor=dep_people["owner"], deployment=application, threshold=floor - 0.05,
                               threshold_justification="Older custody images; AO briefed on extra false alerts.")
    application.refresh_from_db()
    assert application.threshold == pytest.approx(floor - 0.05)


def test_application_rules(dep_people, frozen, node, window):
    start = window[0]
    with pytest.raises(ValidationError) as exc:
        services.deployment_create(actor=dep_people["owner"], watchlist_version=frozen, edge_nodes=[node],
                                   starts_at=start, ends_at=start + timedelta(hours=30), **APPLICATION)
    assert "at most 12 hours" in str(exc.value)
    with pytest.raises(ValidationError) as exc:
        services.deployment_create(actor=dep_people["owner"], watchlist_version=frozen, edge_nodes=[node],
                                   starts_at=start, ends_at=start - timedelta(hours=1), **APPLICATION)
    assert "after the start" in str(exc.value)
    with pytest.raises(ValidationError) as exc:
        services.deployment_create(actor=dep_people["owner"], watchlist_version=frozen, edge_nodes=[node],
                                   starts_at=start, ends_at=window[1], **{**APPLICATION, "area_radius_m": None})
    assert "Bound the area" in str(exc.value)
    with pytest.raises(PermissionDenied):
        services.deployment_create(actor=dep_people["reviewer"], watchlist_version=frozen, starts_at=start,
                                   ends_at=window[1], **APPLICATION)
    with pytest.raises(ValidationError) as exc:
        services.deployment_create(actor=dep_people["outsider"], watchlist_version=frozen, starts_at=start,
                                   ends_at=window[1], **APPLICATION)
    assert "watchlist you can see" in str(exc.value)


def test_draft_watchlist_version_cannot_be_deployed(dep_people, watchlist, node, window):
    draft = watchlist.versions.get()
    with pytest.raises(ValidationError, match="frozen watchlist version"):
        services.deployment_create(actor=dep_people["owner"], watchlist_version=draft, edge_nodes=[node],
                                   starts_at=window[0], ends_at=window[1], threshold=0.5, **APPLICATION)


def test_go_live_without_signage_is_refused(scheduled, clock, dep_people):
    clock.set(scheduled.starts_at + timedelta(minutes=1))
    with pytest.raises(ValidationError, match="No sign is recorded as placed"):
        services.deployment_go_live(deployment=scheduled)
    sign = _place_sign(scheduled, dep_people, scheduled.starts_at)
    services.signage_record_removed(actor=dep_people["owner"], sign=sign, removed_at=scheduled.starts_at + timedelta(seconds=30))
    with pytest.raises(ValidationError, match="No sign"):
        services.deployment_go_live(deployment=scheduled)


def test_a_scheduled_deployment_whose_window_passed_is_ended(scheduled, clock):
    clock.set(scheduled.ends_at + timedelta(seconds=1))
    assert services.deployments_schedule_tick()["closed"] == [scheduled.pk]
    scheduled.refresh_from_db()
    assert scheduled.status == S.ENDED
    assert AuditEvent.objects.get(event="deployment.end", deployment_id=scheduled.pk).changes["reason"] == \
        "window passed without going live"


def test_urgent_oral_authorisation_becomes_overdue(application, dep_people, clock, settings):
    settings.LFR_URGENT_CONFIRMATION_HOURS = 2
    services.deployment_submit(actor=dep_people["owner"], deployment=application, authorising_officer=dep_people["ao"])
    auth = services.deployment_authorise(actor=dep_people["ao"], deployment=application, reasons="Urgent: threat to life.",
                                         urgent_oral=True)
    assert auth.written_confirmation_due_at == auth.decided_at + timedelta(hours=2)
    assert not selectors.authorisations_overdue(now=auth.decided_at + timedelta(hours=1)).exists()
    assert list(selectors.authorisations_overdue(now=auth.decided_at + timedelta(hours=3))) == [auth]
    with pytest.raises(PermissionDenied):
        services.authorisation_confirm_in_writing(actor=dep_people["ao2"], authorisation=auth, text="x")
    clock.set(auth.decided_at + timedelta(hours=3))
    confirmed = services.authorisation_confirm_in_writing(actor=dep_people["ao"], authorisation=auth, text="Confirmed.")
    assert confirmed.written_confirmation_at and not selectors.authorisations_overdue(
        now=auth.decided_at + timedelta(hours=4)).exists()
    assert AuditEvent.objects.get(event="deployment.authorisation_confirm").changes == {"late": True}


def test_false_alert_estimate_for_a_known_calibration(application):
    from matching.engine.calibration import expected_false_alerts

    from .calibration_fixture import COMPARISONS, calibration, fmr

    estimate = expected_false_alerts(calibration(), 0.45, watchlist_size=50, footfall=2000)
    assert estimate.fmr == pytest.approx(round(fmr(0.45) * COMPARISONS["colour"]) / COMPARISONS["colour"])
    assert estimate.expected == pytest.approx(50 * 2000 * estimate.fmr)
    assert estimate.expected_upper_95 > estimate.expected
    # The deployment's figures now come from the format-2 calibration: per passer-by times the footfall.
    colour = selectors.deployment_thresholds(application).get("colour")
    assert colour.expected == pytest.approx(8000 * colour.chosen.per_passer_by) and colour.chosen.per_passer_by > 0


def test_edge_node_token_shown_once_and_stored_hashed(dep_people):
    import hashlib

    node, token = services.edge_node_register(actor=dep_people["admin"], name="Van 9", camera_description="x")
    assert token.startswith("lfr_") and len(token) > 40
    stored = EdgeNode.objects.get(pk=node.pk)
    assert stored.token_hash == hashlib.sha256(token.encode()).hexdigest()
    assert token not in str(EdgeNode.objects.filter(pk=node.pk).values().get())
    assert token not in str(list(AuditEvent.objects.values_list("changes", flat=True)))
    assert selectors.edge_node_for_token(token) == node
    assert selectors.edge_node_for_token(token + "x") is None
    services.edge_node_revoke(actor=dep_people["admin"], node=node)
    assert selectors.edge_node_for_token(token) is None
    with pytest.raises(PermissionDenied):
        services.edge_node_register(actor=dep_people["owner"], name="Rogue", camera_description="x")


def test_cancellation_needs_a_reason_and_the_right_people(scheduled, dep_people):
    with pytest.raises(PermissionDenied):
        services.deployment_cancel(actor=dep_people["outsider"], deployment=scheduled, reason="x")
    with pytest.raises(ValidationError, match="why"):
        services.deployment_cancel(actor=dep_people["ao"], deployment=scheduled, reason="")
    services.deployment_cancel(actor=dep_people["ao"], deployment=scheduled, reason="Public order concern.")
    scheduled.refresh_from_db()
    assert scheduled.status == S.CANCELLED and scheduled.cancelled_reason == "Public order concern."


def test_the_ao_gains_sight_of_the_watchlist_on_submission(application, dep_people, make_user):
    from lfr_governance.accounts.choices import Rank, Role
    from lfr_governance.accounts.services import team_get_or_create
    from watchlists import selectors as wl_selectors

    command = team_get_or_create(name="Command Team")
    ao = make_user("supt-elsewhere", Role.AUTHORISING_OFFICER, rank=Rank.SUPERINTENDENT, team_=command)
    watchlist = application.watchlist_version.watchlist
    assert watchlist not in wl_selectors.watchlists_visible(ao)
    assert application not in selectors.deployments_visible(ao)
    services.deployment_submit(actor=dep_people["owner"], deployment=application, authorising_officer=ao)
    assert watchlist in wl_selectors.watchlists_visible(ao)
    assert application in selectors.deployments_visible(ao)
    assert application not in selectors.deployments_visible(dep_people["outsider"])


def test_published_record_has_no_personal_data(scheduled, dep_people):
    record = selectors.published_record(scheduled)
    assert record["watchlist_size"] == 3 and record["faces_processed"] == 0 and record["alerts"] == 0
    text = str(record)
    for secret in ("PNC-", "owner", "CASE/2026", scheduled.watchlist_version.digest, "Consulted"):
        assert secret not in text


def test_services_refuse_what_the_page_does_not_offer(authorised, dep_people):
    """One rule for each action: deployment_actions offers it, and the service re-checks the same rule."""
    owner = dep_people["owner"]
    assert not selectors.deployment_actions(owner, authorised).may_withdraw
    with pytest.raises(ValidationError, match="Only a submitted or rejected application can be withdrawn"):
        services.deployment_withdraw(actor=owner, deployment=authorised)
    services.deployment_cancel(actor=owner, deployment=authorised, reason="Intelligence changed.")
    cancelled = Deployment.objects.get(pk=authorised.pk)
    actions = selectors.deployment_actions(owner, cancelled)
    assert not actions.may_add_leaflets and not actions.may_assign_operators
    with pytest.raises(ValidationError, match="leaflet record is closed"):
        services.leaflet_record_add(actor=owner, deployment=cancelled, count=10, window_start=cancelled.starts_at,
                                    window_end=cancelled.ends_at, where="High Street")
    with pytest.raises(ValidationError, match="no operator can be assigned"):
        services.operator_assign(actor=owner, deployment=cancelled, operator=dep_people["operator"])
    assert not cancelled.leaflets.exists() and not cancelled.operators.exists()
