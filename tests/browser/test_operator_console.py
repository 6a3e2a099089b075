"""In a real headless Chromium with a real Celery worker: an operator opens the alert console of their live
deployment, an edge node posts a frame of a watchlisted person, the alert appears without a reload (with the
beep and the count), and the operator confirms the match and records the arrest. And, at tablet width, one card per
person however often they were seen, a new alert that waits behind the bar instead of moving the card being read,
and a decision recorded by its keyboard shortcut."""

import time
import uuid
from datetime import timedelta

import pytest
from django.core.files.base import ContentFile
from django.utils import timezone
from playwright.sync_api import expect

from lfr_governance.audit.models import AuditEvent
from matching.models import Alert, Sighting
from tests.browser.policy import watch_for_policy_violations
from tests.conftest import sign_in
from watchlists.models import ReferenceImage
from tests.matching.conftest import (  # noqa: F401  (fixtures)
    _clean_redis_keys, add_entry, application, authorised, dep_people,
    face_bytes, frozen, jpeg_of, live, node, people, scheduled, watchlist, window,
)
from tools.edge_client import EdgeClient

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]
IMAGES_LOADED = ("Array.from(document.querySelectorAll('[data-testid=alert] img')).every("
                 "i => i.complete && i.naturalWidth > 0)")


def _images_loaded(page, timeout: float = 15) -> None:
    # Polled from here: wait_for_function compiles its predicate in the page, which the CSP (no eval) refuses.
    deadline = time.monotonic() + timeout
    while not page.evaluate(IMAGES_LOADED):
        assert time.monotonic() < deadline, "the alert images did not load"
        time.sleep(0.05)


@pytest.mark.worker
def test_operator_sees_an_alert_arrive_and_adjudicates_it(live_server, page, celery_worker_process, live, node,
                                                          face_bytes):
    sign_in(page, live_server.url, "operator")
    page.get_by_test_id("role-navigation").get_by_role("link", name="Alert console").click()
    page.get_by_role("link", name=live.title).click()
    page.get_by_label("Why are you watching this deployment's alerts?").fill("Operator on duty at the van")
    page.get_by_role("button", name="Continue to the console").click()
    expect(page.get_by_role("heading", name=f"Alert console: {live.title}")).to_be_visible()
    expect(page.get_by_test_id("no-alerts")).to_be_visible()
    expect(page.get_by_test_id("awaiting-count")).to_have_text("0")
    expect(page.get_by_test_id("connection")).to_contain_text("Live")
    page.evaluate("window.__sameDocument = true")

    answer = EdgeClient(live_server.url, node.token).post_frame(jpeg_of(face_bytes("img2.jpg")), frame_id="browser-1",
                                                                camera="north mast")
    assert answer.status == 202, answer
    deadline = time.monotonic() + 60
    while not Alert.objects.exists() and time.monotonic() < deadline:
        time.sleep(0.02)
    alert = Alert.objects.select_related("entry").get()
    created = time.monotonic()

    card = page.get_by_test_id("alert")
    expect(card).to_be_visible(timeout=3000)  # polled every 0.8 s: seen within about a second of the alert
    shown_after = time.monotonic() - created
    assert shown_after < 3, shown_after
    assert page.evaluate("window.__sameDocument") is True  # no reload
    expect(card).to_contain_text(alert.entry.subject_ref)
    expect(card).to_contain_text("Wanted by the courts (warrant)")
    expect(card).to_contain_text("north mast")
    expect(card).to_contain_text(f"{alert.score:.3f}")
    expect(page.get_by_test_id("awaiting-count")).to_have_text("1")
    for name in ("Camera image", "Watchlist image"):
        image = card.get_by_role("img", name=name, exact=False).first
        expect(image).to_be_visible()
    _images_loaded(page)
    assert page.evaluate("document.body.getAttribute('data-last-beep')")  # the alert sound was played

    card.get_by_role("button", name="Confirmed match: engage").click()
    expect(card.get_by_text("Confirmed match: engage (operator")).to_be_visible()
    expect(page.get_by_test_id("awaiting-count")).to_have_text("0")
    card.get_by_label("Arrested").check()
    card.get_by_role("button", name="Record outcome").click()
    expect(card).to_contain_text("Outcome: Arrested.")
    expect(card.get_by_role("button", name="Record outcome")).to_be_hidden()

    alert.refresh_from_db()
    assert (alert.decision, alert.outcome, alert.decided_by.username) == ("confirmed", "arrested", "operator")
    events = set(AuditEvent.objects.filter(target_id=str(alert.pk)).values_list("event", flat=True))
    assert {"alert.create", "alert.view", "alert.probe_view", "alert.adjudicate", "alert.outcome"} <= events


def _alert_seen(live, node, probe: bytes, index: int, sightings: int) -> Alert:
    """An alert as the pipeline leaves it for one passer-by seen `sightings` times (made directly in the database)."""
    image = ReferenceImage.objects.filter(entry__version=live.watchlist_version).select_related("entry").order_by(
        "pk")[index]
    now = timezone.now()
    frame_id = f"cam-{uuid.uuid4().hex[:8]}"
    alert = Alert.objects.create(
        deployment=live, edge_node=node, camera="north mast", frame_id=frame_id, track_ref=f"{frame_id}#0",
        entry=image.entry, reference_image=image, probe_image=ContentFile(probe, name="probe.jpg"), score=0.72,
        threshold=live.threshold, pack_id="yunet-sface", captured_at=now, received_at=now, alerted_at=now,
        last_seen_at=now + timedelta(seconds=sightings - 1), sighting_count=sightings)
    Sighting.objects.bulk_create([
        Sighting(alert=alert, frame_id=f"{frame_id}-{n}", track_ref=alert.track_ref, captured_at=now + timedelta(
            seconds=n), score=0.72 if n % 5 == 0 else None, quality=0.4) for n in range(sightings)])
    return alert


def test_one_card_per_person_a_new_alert_waits_and_a_key_decides(live_server, page, live, node, face_bytes):
    problems = watch_for_policy_violations(page)
    page.set_viewport_size({"width": 768, "height": 1024})  # the van's tablet
    probe = jpeg_of(face_bytes("img2.jpg"), size=(120, 120))
    seen = _alert_seen(live, node, probe, 0, sightings=20)
    sign_in(page, live_server.url, "operator")
    page.goto(f"{live_server.url}/alerts/deployments/{live.pk}/")
    page.get_by_label("Why are you watching this deployment's alerts?").fill("Operator on duty at the van")
    page.get_by_role("button", name="Continue to the console").click()
    expect(page.get_by_test_id("shortcuts")).to_contain_text("Keyboard: C confirm match, F false alert, U unable")
    expect(page.get_by_label("Awaiting decision")).to_be_checked()

    # Twenty sightings of one person: one card, which says 20.
    cards = page.get_by_test_id("alert")
    expect(cards).to_have_count(1)
    card = cards.first
    expect(card).to_contain_text(seen.entry.subject_ref)
    expect(card.get_by_test_id("sighting-count")).to_have_text("20")
    _images_loaded(page)
    card.get_by_text("Sighting history", exact=True).click()
    history = card.get_by_test_id("sightings")
    expect(history.locator("tbody tr")).to_have_count(20)
    expect(history).to_contain_text("carried by track")
    assert AuditEvent.objects.filter(event="alert.sightings_view", target_id=str(seen.pk)).count() == 1

    # The operator selects the card by keyboard and reads it.
    page.keyboard.press("j")
    expect(card).to_be_focused()
    before = card.bounding_box()

    # A new person alerts while the card is read: it waits behind the bar, and the card does not move.
    newer = _alert_seen(live, node, probe, 1, sightings=1)
    expect(page.get_by_test_id("new-alerts")).to_have_text("1 new alert waiting.")
    expect(page.get_by_test_id("awaiting-count")).to_have_text("2")
    assert page.evaluate("document.body.getAttribute('data-last-beep')")  # the alert sound was played
    expect(cards).to_have_count(1)
    assert card.bounding_box()["y"] == before["y"], (before, card.bounding_box())
    assert not AuditEvent.objects.filter(event="alert.view", target_id=str(newer.pk)).exists()  # not shown yet

    # The first person is seen again: their card updates in place.
    Alert.objects.filter(pk=seen.pk).update(sighting_count=21, last_seen_at=timezone.now() + timedelta(minutes=1))
    expect(card.get_by_test_id("sighting-count")).to_have_text("21")
    assert card.bounding_box()["y"] == before["y"]

    # F on the selected card: a false alert, through the same endpoint, checks and audit as the button.
    page.keyboard.press("f")
    expect(card).to_contain_text("False alert (operator")
    expect(page.get_by_test_id("awaiting-count")).to_have_text("1")
    seen.refresh_from_db()
    assert (seen.decision, seen.decided_by.username) == ("false_alert", "operator")
    audit = AuditEvent.objects.get(event="alert.adjudicate", target_id=str(seen.pk))
    assert audit.actor.username == "operator" and audit.changes["decision"] == [None, "false_alert"]
    expect(card).to_be_focused()
    page.keyboard.press("c")  # already decided: nothing is sent
    expect(page.locator("#announcer")).to_contain_text("already decided")
    assert AuditEvent.objects.filter(event="alert.adjudicate").count() == 1

    # The operator asks for the new alert: it comes in at the top, with the focus.
    page.get_by_role("button", name="Show 1 new alert").click()
    expect(cards).to_have_count(2)
    expect(cards.first).to_contain_text(newer.entry.subject_ref)
    expect(cards.first).to_be_focused()
    expect(page.get_by_test_id("new-alerts")).to_have_text("No new alerts waiting.")
    assert AuditEvent.objects.filter(event="alert.view", target_id=str(newer.pk)).count() == 1

    # C confirms it; typing the outcome's description fires no key (J would move the focus, F or U decide).
    fresh = cards.first
    page.keyboard.press("c")
    expect(fresh).to_contain_text("Confirmed match: engage (operator")
    fresh.get_by_label("Other").check()
    described = fresh.get_by_label("Describe the outcome")
    described.fill("")
    described.press_sequentially("Just fun, kind")
    expect(described).to_have_value("Just fun, kind")
    expect(described).to_be_focused()
    newer.refresh_from_db()
    assert (newer.decision, newer.outcome) == ("confirmed", "")
    assert AuditEvent.objects.filter(event="alert.adjudicate", target_id=str(newer.pk)).count() == 1
    assert page.evaluate("document.documentElement.scrollWidth <= window.innerWidth")  # no sideways scrolling
    assert page.evaluate("window.__cspViolations || []") == [] and problems == [], problems
