"""In a real headless Chromium: a sign's description carrying a script that would authorise the deployment (the
stored XSS of the security review) is shown as text on the authorising officer's map and never runs; the
Content-Security-Policy alone also stops an injected handler; the main pages run their scripts with no policy
violation and no script error."""

from datetime import timedelta
from decimal import Decimal

import pytest
from django.utils import timezone
from playwright.sync_api import expect

from deployments import services
from deployments.choices import DeploymentStatus
from lfr_governance.audit.models import AuditEvent
from tests.browser.policy import watch_for_policy_violations
from tests.conftest import sign_in
from tests.deployments.conftest import application, dep_people, node, window  # noqa: F401  (shared fixtures)
from tests.watchlists.conftest import ENTRY_DEFAULTS, add_entry, face_bytes, frozen, people, watchlist  # noqa: F401
from watchlists import services as watchlist_services

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]

# The applicant's payload from the security review, made to work: it authorises the deployment it is shown on.
PAYLOAD = ("<img src=x onerror=\"window.__xss=1;fetch('/api/v1/deployments/{pk}/authorise/',{{method:'POST',"
           "headers:{{'Content-Type':'application/json','X-CSRFToken':document.cookie.split('csrftoken=')[1]"
           ".split(';')[0]}},body:JSON.stringify({{reasons:'Necessary and proportionate.'}})}})\">")


@pytest.fixture
def submitted_with_payload_sign(application, dep_people):
    services.deployment_submit(actor=dep_people["owner"], deployment=application,
                               authorising_officer=dep_people["ao"])
    payload = PAYLOAD.format(pk=application.pk)
    assert len(payload) <= 300  # SignageRecord.position_description's length
    services.signage_record_add(
        actor=dep_people["owner"], deployment=application, position_description=payload,
        latitude=Decimal("51.507600"), longitude=Decimal("-0.127900"), size="A1",
        placed_at=timezone.now() - timedelta(minutes=1),
    )
    application.refresh_from_db()
    assert application.status == DeploymentStatus.SUBMITTED
    return application, payload


def test_a_sign_description_with_a_script_is_shown_as_text_and_never_runs(live_server, page,
                                                                           submitted_with_payload_sign):
    deployment, payload = submitted_with_payload_sign
    problems = watch_for_policy_violations(page)
    requests = []
    page.on("request", lambda request: requests.append(request.url))

    sign_in(page, live_server.url, "ao")
    page.goto(f"{live_server.url}/deployments/{deployment.pk}/")
    expect(page.get_by_test_id("deployment-map")).to_have_attribute("data-ready", "true")
    marker = page.locator("#deployment-map .leaflet-marker-icon")
    expect(marker).to_have_count(1)
    marker.click()
    popup = page.locator("#deployment-map .leaflet-popup-content")
    expect(popup).to_be_visible()
    expect(popup).to_have_text(f"Sign 1: {payload}")  # the markup shown literally, as text
    expect(popup.locator("img")).to_have_count(0)
    expect(page.get_by_test_id("map-coordinates")).to_contain_text(payload)
    page.wait_for_timeout(1000)  # time enough for a failed image and its handler's request, had either existed

    assert page.evaluate("window.__xss") is None
    assert not [url for url in requests if "/authorise/" in url or url.rstrip("/").endswith("/x")], requests
    deployment.refresh_from_db()
    assert deployment.status == DeploymentStatus.SUBMITTED
    assert not AuditEvent.objects.filter(event="deployment.authorise").exists()
    # Nothing was even tried: the text never became markup, so the policy had nothing to refuse.
    assert page.evaluate("window.__cspViolations || []") == [] and problems == [], problems


def test_the_policy_alone_refuses_an_injected_inline_handler(live_server, page, submitted_with_payload_sign):
    """Defence in depth: were some markup injected after all, its inline handler would not run."""
    deployment, _ = submitted_with_payload_sign
    problems = watch_for_policy_violations(page)
    sign_in(page, live_server.url, "ao")
    page.goto(f"{live_server.url}/deployments/{deployment.pk}/")
    page.evaluate("document.body.insertAdjacentHTML('beforeend', '<img src=\"x\" onerror=\"window.__injected = 1\">')")
    page.wait_for_function("(window.__cspViolations || []).length > 0")
    assert page.evaluate("window.__injected") is None
    assert "script-src-attr" in page.evaluate("window.__cspViolations")
    assert any("Content Security Policy" in p for p in problems), problems


def test_main_pages_run_their_scripts_without_a_policy_violation(live_server, browser, page, dep_people, application,
                                                                 face_bytes, watchlist, people, monkeypatch):
    problems = watch_for_policy_violations(page)
    services.signage_record_add(
        actor=dep_people["owner"], deployment=application, position_description="Lamp post 14, north side",
        latitude=Decimal("51.507600"), longitude=Decimal("-0.127900"), size="A1", placed_at=timezone.now(),
    )
    sign_in(page, live_server.url, "owner")
    assert page.evaluate("document.body.classList.contains('js-enabled')")  # js/govuk-js-enabled.js
    expect(page.locator("[data-govuk-skip-link-init]")).to_have_count(1)  # js/govuk-frontend-init.js ran initAll

    # The schedule: the timeline's bars are placed by js/timeline.js.
    page.goto(f"{live_server.url}/deployments/")
    expect(page.get_by_test_id("timeline")).to_have_attribute("data-placed", "true")
    bar = page.locator(f'[data-deployment="{application.pk}"]').first
    assert bar.evaluate("el => el.style.left.endsWith('%') && el.style.width.endsWith('%')")

    # The deployment page: the map is drawn and a marker's popup opens.
    page.goto(f"{live_server.url}/deployments/{application.pk}/")
    expect(page.get_by_test_id("deployment-map")).to_have_attribute("data-ready", "true")
    page.locator("#deployment-map .leaflet-marker-icon").click()
    expect(page.locator("#deployment-map .leaflet-popup-content")).to_have_text("Sign 1: Lamp post 14, north side")

    # The application form: the threshold notice follows the proposals of the chosen version (js/threshold-floor.js),
    # for either condition.
    page.goto(f"{live_server.url}/deployments/new/")
    notice = page.get_by_test_id("threshold-below-proposal")
    page.get_by_label("Watchlist version").select_option(value=str(application.watchlist_version.pk))
    expect(notice).to_be_hidden()
    page.get_by_label("Match threshold for colour frames").fill("0.01")
    expect(notice).to_be_visible()
    page.get_by_label("Match threshold for colour frames").fill("0.9")
    expect(notice).to_be_hidden()
    page.get_by_label("Match threshold for greyscale (night-time) frames").fill("0.02")
    expect(notice).to_be_visible()

    # The watchlist page polls the state of a queued image (js/image-states.js); no worker runs in this test.
    monkeypatch.setattr("watchlists.services.current_app.send_task", lambda *args, **kwargs: None)
    entry = watchlist_services.entry_create(actor=people["owner"], watchlist=watchlist, subject_ref="PNC-09/999Z",
                                            **ENTRY_DEFAULTS)
    watchlist_services.reference_image_add(actor=people["owner"], entry=entry, data=face_bytes("img1.jpg"),
                                           filename="img1.jpg")
    with page.expect_response(lambda response: "image-states.json" in response.url and response.ok):
        page.goto(f"{live_server.url}/watchlists/{watchlist.pk}/")

    # The edge node token page, as the administrator: the copy button is offered (js/copy-token.js).
    admin = browser.new_context(viewport={"width": 1024, "height": 768}, locale="en-GB")
    try:
        admin_page = admin.new_page()
        problems += watch_for_policy_violations(admin_page)
        sign_in(admin_page, live_server.url, "admin")
        admin_page.goto(f"{live_server.url}/deployments/edge-nodes/new/")
        admin_page.get_by_label("Name").fill("Van 9 camera 2")
        admin_page.get_by_label("Camera").fill("Mast camera, 6 mm lens")
        admin_page.get_by_role("button", name="Register and show the token").click()
        expect(admin_page.get_by_role("button", name="Copy the token")).to_be_visible()
    finally:
        admin.close()

    assert problems == [], problems

    # The API docs: ReDoc renders under its own, slightly wider policy. The one refusal allowed is ReDoc's own
    # logo from its CDN (nothing is fetched from a CDN at run time; ReDoc hides the image when it fails).
    page.goto(f"{live_server.url}/api/v1/docs/")
    expect(page.get_by_role("heading", name="LFR governance API").first).to_be_visible(timeout=30000)
    expect(page.get_by_text("Authorise (the named authorising officer)").first).to_be_attached()
    page.get_by_placeholder("Search...").fill("authorising officer")  # ReDoc searches in a worker from blob:
    expect(page.locator('[data-role="search:results"]').get_by_text("Authorise").first).to_be_visible()
    page.wait_for_timeout(500)
    assert [p for p in problems if "https://cdn.redoc.ly/redoc/logo-mini.svg" not in p] == [], problems

