"""In a real headless Chromium with a real Celery worker: an operator opens the alert console of their live
deployment, an edge node posts a frame of a watchlisted person, the alert appears without a reload (with the
beep and the count), and the operator confirms the match and records the arrest."""

import time

import pytest
from playwright.sync_api import expect

from lfr_governance.audit.models import AuditEvent
from matching.models import Alert
from tests.conftest import sign_in
from tests.matching.conftest import (  # noqa: F401  (fixtures)
    _clean_redis_keys, add_entry, application, authorised, dep_people,
    face_bytes, frozen, jpeg_of, live, node, people, scheduled, watchlist, window,
)
from tools.edge_client import EdgeClient

pytestmark = [pytest.mark.browser, pytest.mark.worker, pytest.mark.django_db(transaction=True)]


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
    page.wait_for_function("Array.from(document.querySelectorAll('[data-testid=alert] img')).every("
                           "i => i.complete && i.naturalWidth > 0)")
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
