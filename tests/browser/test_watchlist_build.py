"""In a real headless Chromium with a real Celery worker: an intelligence officer builds a watchlist of three
entries, the image checks finish on the open page without a reload, a reviewer justifies, views an image and
approves every entry, and the officer freezes the version and sees its digest."""

import os
import re
import socket
import zipfile
from contextlib import contextmanager

import pytest
from playwright.sync_api import expect

from lfr_governance.accounts.choices import Role
from lfr_governance.audit.models import AuditEvent
from tests.conftest import sign_in
from watchlists.models import ReferenceImage, Watchlist

pytestmark = [pytest.mark.browser, pytest.mark.worker, pytest.mark.django_db(transaction=True)]

ENTRIES = [
    # subject reference, image, category label, offence label or None
    ("PNC-01/111A", "img1.jpg", "Wanted by the courts (warrant)", None),
    ("PNC-02/222B", "img3.jpg", "Suspected of a serious offence", "Robbery"),
    ("PNC-03/333C", "img17.jpg", "Subject to bail or court-order conditions the deployment can enforce", None),
]


@contextmanager
def worker_paused():
    """Holds the session's worker off the queue, so the page is sure to show the images queued first."""
    from lfr_governance.celery import app

    # Only this test run's worker (named in tests/conftest.py), never another one on the same broker.
    worker = [f"test-worker-{os.getpid()}@{socket.gethostname()}"]
    queue = app.conf.task_default_queue
    assert app.control.cancel_consumer(queue, destination=worker, reply=True, timeout=5), f"{worker[0]} did not answer"
    try:
        yield lambda: app.control.add_consumer(queue, destination=worker, reply=True, timeout=5)
    finally:
        app.control.add_consumer(queue, destination=worker, reply=True, timeout=5)


def add_entry(page, subject_ref, image_path, category, offence):
    page.get_by_role("link", name="Add an entry").click()
    expect(page.get_by_role("heading", name="Add an entry")).to_be_visible()
    page.get_by_label("Subject reference").fill(subject_ref)
    page.get_by_label(category, exact=True).check()
    offence_select = page.get_by_label("Offence", exact=True)
    if offence:
        expect(offence_select).to_be_visible()  # revealed by the category choice
        offence_select.select_option(label=offence)
    else:
        expect(offence_select).to_be_hidden()
    page.get_by_label("PACE 1984 s.64A (custody image), held under DPA 2018 Part 3", exact=True).check()
    page.get_by_label("Custody image", exact=True).check()
    page.get_by_label("Day", exact=True).fill("1")
    page.get_by_label("Month", exact=True).fill("3")
    page.get_by_label("Year", exact=True).fill("2025")
    page.get_by_label("Intelligence reference").fill("INT/2026/0042")
    page.get_by_label("Justification", exact=True).fill(
        "Named in the intelligence case; seen near the deployment area on Saturdays.")
    page.get_by_label("Image of the subject's face").set_input_files(image_path)
    page.get_by_role("button", name="Add entry").click()
    expect(page.get_by_role("heading", name="Operation Harbour")).to_be_visible()
    expect(page.get_by_text(f"Entry {subject_ref} added.")).to_be_visible()


def test_officer_builds_reviewer_approves_officer_freezes(
    live_server, browser, page, make_user, faces_dir, celery_worker_process
):
    make_user("officer", Role.INTELLIGENCE_OFFICER)
    reviewer = make_user("second_officer", Role.REVIEWER)

    # The intelligence officer creates the watchlist.
    sign_in(page, live_server.url, "officer")
    page.get_by_test_id("role-navigation").get_by_role("link", name="Watchlists").click()
    page.get_by_role("link", name="Create a watchlist").click()
    page.get_by_label("Operation name").fill("Operation Harbour")
    page.get_by_label("Policing objective").fill("Arrest people wanted for robbery in the town centre.")
    page.get_by_label("Intelligence case reference").fill("CASE/2026/17")
    page.get_by_role("button", name="Create watchlist").click()
    expect(page.get_by_role("heading", name="Operation Harbour")).to_be_visible()
    watchlist = Watchlist.objects.get(operation_name="Operation Harbour")

    # Three entries, each with its image; the checks wait until the page is open.
    with worker_paused() as resume_worker:
        for subject_ref, image, category, offence in ENTRIES:
            add_entry(page, subject_ref, faces_dir / "deepface" / image, category, offence)
        image_ids = list(ReferenceImage.objects.filter(entry__version__watchlist=watchlist)
                         .order_by("entry__subject_ref").values_list("pk", flat=True))
        assert len(image_ids) == 3
        for image_id in image_ids:
            cell = page.get_by_test_id(f"image-state-{image_id}")
            expect(cell).to_have_attribute("data-state", "queued")
            expect(cell).to_contain_text("Queued for checks")
        page.evaluate("window.__sameDocument = true")
        resume_worker()
        # The worker loads the face engine on its first task: allow it time.
        for image_id in image_ids:
            cell = page.get_by_test_id(f"image-state-{image_id}")
            expect(cell).to_have_attribute("data-state", "accepted", timeout=45_000)
            expect(cell).to_contain_text("Accepted")
    assert page.evaluate("window.__sameDocument") is True, "the page reloaded"
    expect(page.get_by_test_id("image-state-summary")).to_contain_text("3 accepted, 0 being checked, 0 refused")

    # The officer assigns the reviewer.
    page.get_by_label("Reviewer", exact=True).select_option(value=str(reviewer.pk))
    page.get_by_role("button", name="Assign reviewer").click()
    expect(page.get_by_test_id("reviewers")).to_have_text("Second_Officer Tester")

    # The reviewer, on a tablet-sized screen in their own session, justifies, views an image, approves all.
    context = browser.new_context(viewport={"width": 768, "height": 1024}, locale="en-GB", timezone_id="Europe/London")
    try:
        review = context.new_page()
        review.set_default_timeout(15000)
        sign_in(review, live_server.url, "second_officer")
        review.get_by_test_id("role-navigation").get_by_role("link", name="Watchlists").click()
        review.get_by_role("link", name="Operation Harbour").click()
        review.get_by_role("link", name="Review entries").click()
        expect(review.get_by_role("heading", name="Review entries")).to_be_visible()

        review.get_by_role("link", name="View image 1 of PNC-01/111A").click()
        expect(review.get_by_role("heading", name="Why do you need to see these images?")).to_be_visible()
        review.get_by_role("button", name="Continue").click()
        expect(review.get_by_role("alert")).to_contain_text("Enter why you need to see these images")
        review.get_by_label("Why do you need to see these images?").fill(
            "Reviewing image quality for Operation Harbour")
        review.get_by_role("button", name="Continue").click()
        expect(review.get_by_role("heading", name="Image of PNC-01/111A")).to_be_visible()
        shown = review.get_by_role("img", name="Reference image of PNC-01/111A")
        expect(shown).to_be_visible()
        review.wait_for_function("document.querySelector('[data-testid=reference-image]').naturalWidth > 0")
        views = AuditEvent.objects.filter(action="consultation", actor=reviewer, event="watchlist.image_view")
        assert views.count() >= 1
        assert views.first().justification == "Reviewing image quality for Operation Harbour"

        review.get_by_role("link", name="Back").click()
        expect(review.get_by_test_id("justification")).to_contain_text("Reviewing image quality")
        for subject_ref, *_ in ENTRIES:
            review.get_by_role("button", name=f"Approve entry {subject_ref}").click()
            expect(review.get_by_text(f"Entry {subject_ref} approved.")).to_be_visible()
            expect(review.get_by_test_id(f"review-entry-{subject_ref}")).to_contain_text("Approved")
    finally:
        context.close()

    # The officer freezes the version and sees its digest.
    page.reload()
    for subject_ref, *_ in ENTRIES:
        expect(page.get_by_role("row").filter(has_text=subject_ref)).to_contain_text("Approved")
    page.get_by_role("button", name="Freeze this version").click()
    version = watchlist.versions.get(number=1)
    assert version.status == "frozen" and re.fullmatch(r"[0-9a-f]{64}", version.digest)
    expect(page.get_by_text("Version 1 is frozen. Its digest is shown below.")).to_be_visible()
    expect(page.get_by_test_id("current-digest")).to_have_text(version.digest)
    expect(page.get_by_test_id("digest-1")).to_have_text(version.digest)
    expect(page.get_by_role("button", name="Freeze this version")).to_have_count(0)


def test_bulk_import_shows_progress_then_each_rows_result(
    live_server, page, make_user, faces_dir, tmp_path, celery_worker_process
):
    from watchlists import services

    officer = make_user("officer", Role.INTELLIGENCE_OFFICER)
    watchlist = services.watchlist_create(actor=officer, operation_name="Operation Lantern",
                                          objective="Locate people wanted on warrant", intelligence_case_ref="CASE/9")
    header = ("subject_ref,category,offence,legal_basis,image_source,image_capture_date,intelligence_ref,"
              "justification,image\n")
    rows = ("PNC-11/111A,warrant,,pace_custody,custody,2025-03-01,INT/1,Wanted on warrant for failing to appear.,a.jpg\n"
            "PNC-12/222B,warrant,,pace_custody,custody,2025-03-01,INT/2,Wanted on warrant for failing to appear.,b.jpg\n"
            "PNC-13/333C,other,,pace_custody,custody,2025-03-01,INT/3,No category of the closed list.,a.jpg\n")
    csv_path = tmp_path / "entries.csv"
    csv_path.write_text(header + rows, encoding="utf-8")
    zip_path = tmp_path / "images.zip"
    with zipfile.ZipFile(zip_path, "w") as archive:
        archive.write(faces_dir / "deepface" / "img2.jpg", "a.jpg")
        archive.write(faces_dir / "deepface" / "img4.jpg", "b.jpg")

    sign_in(page, live_server.url, "officer")
    page.goto(f"{live_server.url}/watchlists/{watchlist.pk}/")
    page.get_by_role("link", name="Import entries in bulk").click()
    page.get_by_label("CSV file of entries").set_input_files(csv_path)
    page.get_by_label("ZIP file of images").set_input_files(zip_path)
    page.get_by_role("button", name="Start import").click()
    expect(page.get_by_role("heading", name="Bulk import")).to_be_visible()
    # The progress page polls, then shows each row's result when the worker has finished.
    results = page.get_by_test_id("import-results")
    expect(results).to_be_visible(timeout=45_000)
    expect(page.get_by_test_id("import-summary")).to_contain_text("2 of 3 rows imported")
    expect(results.get_by_role("row").filter(has_text="PNC-11/111A")).to_contain_text("Accepted")
    expect(results.get_by_role("row").filter(has_text="PNC-13/333C")).to_contain_text(
        "Choose one of the listed inclusion categories.")
