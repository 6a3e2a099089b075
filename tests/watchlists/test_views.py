"""The watchlist pages through Django's test client: who may open what, and the forms calling the services."""

import io
import zipfile

import pytest
from django.urls import reverse

from lfr_governance.audit.models import AuditEvent
from watchlists import services
from watchlists.models import BulkImport, ReferenceImage, Watchlist, WatchlistEntry

from .conftest import ENTRY_DEFAULTS

pytestmark = pytest.mark.django_db

CSV_HEADER = ("subject_ref,category,offence,legal_basis,image_source,image_capture_date,intelligence_ref,"
              "justification,image\n")


def entry_post(**overrides) -> dict:
    data = {
        "subject_ref": "PNC 12/345678A", "category": "serious_offence", "offence": "robbery",
        "legal_basis": "pace_custody", "image_source": "custody",
        "image_capture_date-day": "1", "image_capture_date-month": "3", "image_capture_date-year": "2025",
        "intelligence_ref": "INT/2026/0042",
        "justification": "Suspected of a series of street robberies; seen in the area on Saturdays.",
    }
    data.update(overrides)
    return {k: v for k, v in data.items() if v is not None}


def upload(name: str, data: bytes, content_type: str = "image/jpeg"):
    from django.core.files.uploadedfile import SimpleUploadedFile

    return SimpleUploadedFile(name, data, content_type=content_type)


def zip_of(**files: bytes) -> bytes:
    out = io.BytesIO()
    with zipfile.ZipFile(out, "w") as archive:
        for name, data in files.items():
            archive.writestr(name, data)
    return out.getvalue()


@pytest.fixture
def built(watchlist, people, face_bytes):
    """A watchlist with one entry whose image is still queued (no worker runs here), and a bulk import."""
    entry = services.entry_create(actor=people["owner"], watchlist=watchlist, subject_ref="PNC-01/111A", **ENTRY_DEFAULTS)
    image = services.reference_image_add(actor=people["owner"], entry=entry, data=face_bytes("img1.jpg"),
                                         filename="img1.jpg")
    from watchlists.bulk import bulk_import_start

    row = "PNC-09/999Z,warrant,,pace_custody,custody,2025-03-01,INT/1,Wanted on warrant for failing to appear.,a.jpg\n"
    bulk = bulk_import_start(actor=people["owner"], watchlist=watchlist, csv_data=(CSV_HEADER + row).encode(),
                             zip_data=zip_of(**{"a.jpg": face_bytes("img2.jpg")}))
    return {"watchlist": watchlist, "entry": entry, "image": image, "bulk": bulk,
            "version": watchlist.versions.get()}


def page_urls(built) -> dict[str, str]:
    wl, entry, image, bulk, version = (built[k] for k in ("watchlist", "entry", "image", "bulk", "version"))
    return {
        "list": reverse("watchlists:list"),
        "create": reverse("watchlists:create"),
        "detail": reverse("watchlists:detail", args=[wl.pk]),
        "image_states": reverse("watchlists:image_states", args=[wl.pk]),
        "entry_create": reverse("watchlists:entry_create", args=[wl.pk]),
        "entry_edit": reverse("watchlists:entry_edit", args=[entry.pk]),
        "review": reverse("watchlists:review", args=[wl.pk]),
        "justify": reverse("watchlists:justify", args=[wl.pk]),
        "image": reverse("watchlists:image", args=[image.pk]),
        "image_file": reverse("watchlists:image_file", args=[image.pk]),
        "import_new": reverse("watchlists:import_new", args=[wl.pk]),
        "import": reverse("watchlists:import", args=[bulk.pk]),
        "import_progress": reverse("watchlists:import_progress", args=[bulk.pk]),
        "destroy_list": reverse("watchlists:destroy_list"),
        "version_destroy": reverse("watchlists:version_destroy", args=[version.pk]),
    }


# Expected GET status per person; 302 on the image pages means "give a justification first".
EXPECTED = {
    "outsider": {"list": 200, "create": 200, "detail": 404, "image_states": 404, "entry_create": 404,
                 "entry_edit": 404, "review": 404, "justify": 404, "image": 404, "image_file": 404,
                 "import_new": 404, "import": 404, "import_progress": 404, "destroy_list": 403,
                 "version_destroy": 403},
    "owner": {"list": 200, "create": 200, "detail": 200, "image_states": 200, "entry_create": 200,
              "entry_edit": 200, "review": 404, "justify": 200, "image": 302, "image_file": 302,
              "import_new": 200, "import": 200, "import_progress": 200, "destroy_list": 403,
              "version_destroy": 403},
    "reviewer": {"list": 200, "create": 403, "detail": 200, "image_states": 200, "entry_create": 404,
                 "entry_edit": 404, "review": 200, "justify": 200, "image": 302, "image_file": 302,
                 "import_new": 404, "import": 404, "import_progress": 404, "destroy_list": 403,
                 "version_destroy": 403},
    "admin": {"list": 403, "create": 403, "detail": 404, "image_states": 404, "entry_create": 404,
              "entry_edit": 404, "review": 404, "justify": 404, "image": 404, "image_file": 404,
              "import_new": 404, "import": 404, "import_progress": 404, "destroy_list": 200,
              "version_destroy": 200},
}


def test_anonymous_people_are_sent_to_sign_in(client, built):
    for name, url in page_urls(built).items():
        response = client.get(url)
        assert response.status_code == 302, name
        assert response["Location"].startswith(reverse("login") + "?next="), name


@pytest.mark.parametrize("person", list(EXPECTED))
def test_who_may_open_each_page(client, built, people, person):
    client.force_login(people[person])
    urls = page_urls(built)
    got = {name: client.get(url).status_code for name, url in urls.items()}
    assert got == EXPECTED[person]


def test_nobody_learns_of_a_watchlist_they_may_not_see(client, built, people):
    client.force_login(people["outsider"])
    assert "Operation Harbour" not in client.get(reverse("watchlists:list")).content.decode()
    missing = client.get(reverse("watchlists:detail", args=[built["watchlist"].pk + 1000]))
    forbidden = client.get(reverse("watchlists:detail", args=[built["watchlist"].pk]))
    assert missing.status_code == forbidden.status_code == 404
    client.force_login(people["admin"])
    body = client.get(reverse("watchlists:destroy_list")).content.decode()
    assert "Operation Harbour" in body and "PNC-01/111A" not in body


def test_builders_post_pages_refuse_a_reviewer(client, built, people):
    client.force_login(people["reviewer"])
    wl = built["watchlist"]
    assert client.post(reverse("watchlists:freeze", args=[wl.pk])).status_code == 404
    assert client.post(reverse("watchlists:reviewer_assign", args=[wl.pk]),
                       {"reviewer": people["reviewer"].pk}).status_code == 404
    assert client.post(reverse("watchlists:entry_create", args=[wl.pk]), entry_post()).status_code == 404


def test_create_a_watchlist_through_the_form(client, people):
    client.force_login(people["owner"])
    response = client.post(reverse("watchlists:create"), {"operation_name": "", "objective": "", "intelligence_case_ref": ""})
    body = response.content.decode()
    assert response.status_code == 200 and "There is a problem" in body
    assert "Enter the operation name" in body and 'href="#id_operation_name"' in body
    response = client.post(reverse("watchlists:create"), {
        "operation_name": "Operation Lantern", "objective": "Locate people wanted for knife crime in the town centre",
        "intelligence_case_ref": "CASE/2026/99"})
    watchlist = Watchlist.objects.get(operation_name="Operation Lantern")
    assert response.status_code == 302 and response["Location"] == reverse("watchlists:detail", args=[watchlist.pk])
    detail = client.get(response["Location"]).content.decode()
    assert "Operation Lantern" in detail and "CASE/2026/99" in detail and "Version 1: draft" in detail


def test_add_an_entry_with_its_image_through_the_form(client, watchlist, people, face_bytes):
    client.force_login(people["owner"])
    url = reverse("watchlists:entry_create", args=[watchlist.pk])
    form = client.get(url).content.decode()
    assert "Suspected of a serious offence" in form and "Choose the offence" in form
    response = client.post(url, {**entry_post(), "image": upload("img1.jpg", face_bytes("img1.jpg"))})
    assert response.status_code == 302
    entry = WatchlistEntry.objects.get(subject_ref="PNC 12/345678A")
    assert entry.offence == "robbery" and entry.author == people["owner"] and str(entry.image_capture_date) == "2025-03-01"
    image = entry.images.get()
    assert image.state == "queued" and image.content_type == "image/jpeg"
    detail = client.get(reverse("watchlists:detail", args=[watchlist.pk])).content.decode()
    assert f'data-testid="image-state-{image.pk}"' in detail and "Queued for checks" in detail
    states = client.get(reverse("watchlists:image_states", args=[watchlist.pk])).json()
    assert states["queued"] == 1 and states["images"][0]["id"] == image.pk


def test_entry_form_names_each_field_to_put_right(client, watchlist, people, face_bytes):
    client.force_login(people["owner"])
    url = reverse("watchlists:entry_create", args=[watchlist.pk])
    response = client.post(url, {**entry_post(offence="", **{"image_capture_date-month": ""}, subject_under_18="on",
                                              justification=""), "image": upload("a.jpg", face_bytes("img1.jpg"))})
    body = response.content.decode()
    assert response.status_code == 400
    for message in ("Choose the offence the person is suspected of", "Image capture date must include a month",
                    "Enter why this person is on this watchlist", "The subject is under 18: enter why"):
        assert message in body
    assert 'href="#id_image_capture_date-day"' in body and 'href="#id_offence"' in body
    response = client.post(url, {**entry_post(**{"image_capture_date-year": "2999"}),
                                 "image": upload("a.jpg", face_bytes("img1.jpg"))})
    assert "The capture date cannot be in the future." in response.content.decode()
    assert not WatchlistEntry.objects.exists()


def test_a_bad_image_shows_its_message_and_keeps_nothing(client, watchlist, people):
    client.force_login(people["owner"])
    response = client.post(reverse("watchlists:entry_create", args=[watchlist.pk]),
                           {**entry_post(), "image": upload("notes.jpg", b"this is not a photograph", "image/jpeg")})
    body = response.content.decode()
    assert response.status_code == 400
    assert "notes.jpg is not an image this service accepts. Upload a JPEG or PNG." in body
    assert 'id="id_image-error"' in body and 'href="#id_image"' in body
    assert not WatchlistEntry.objects.exists() and not ReferenceImage.objects.exists()


def test_edit_an_entry_sends_it_back_for_review(client, built, people):
    entry = built["entry"]
    services.entry_review(actor=people["reviewer"], entry=entry, approve=True)
    client.force_login(people["owner"])
    url = reverse("watchlists:entry_edit", args=[entry.pk])
    assert 'value="INT/2026/0042"' in client.get(url).content.decode()
    response = client.post(url, entry_post(category="warrant", offence="robbery", intelligence_ref="INT/2026/0050",
                                           subject_ref=None))
    assert response.status_code == 302
    entry.refresh_from_db()
    assert entry.intelligence_ref == "INT/2026/0050" and entry.offence == "" and entry.review_status == "pending"


def test_assign_a_reviewer_through_the_form(client, people):
    client.force_login(people["owner"])
    watchlist = services.watchlist_create(actor=people["owner"], operation_name="Operation Lantern",
                                          objective="Locate wanted people", intelligence_case_ref="CASE/1")
    detail = client.get(reverse("watchlists:detail", args=[watchlist.pk])).content.decode()
    assert f'<option value="{people["reviewer"].pk}">' in detail
    assert f'<option value="{people["colleague"].pk}">' not in detail  # not a reviewer
    url = reverse("watchlists:reviewer_assign", args=[watchlist.pk])
    response = client.post(url, {"reviewer": people["colleague"].pk})
    assert response.status_code == 400 and "Choose a reviewer from the list" in response.content.decode()
    response = client.post(url, {"reviewer": people["reviewer"].pk})
    assert response.status_code == 302
    client.force_login(people["reviewer"])
    assert client.get(reverse("watchlists:review", args=[watchlist.pk])).status_code == 200


def test_reviewer_approves_and_returns_entries(client, built, people):
    entry = built["entry"]
    client.force_login(people["reviewer"])
    review = client.get(reverse("watchlists:review", args=[built["watchlist"].pk])).content.decode()
    assert "PNC-01/111A" in review and "Give your reason for viewing images" in review
    url = reverse("watchlists:entry_review", args=[entry.pk])
    response = client.post(url, {"decision": "return", "reason": ""})
    assert response.status_code == 400
    assert "Enter why the entry is returned" in response.content.decode()
    entry.refresh_from_db()
    assert entry.review_status == "pending"
    client.post(url, {"decision": "return", "reason": "The image is eight years old; find a recent one."})
    entry.refresh_from_db()
    assert entry.review_status == "returned" and entry.review_reason.startswith("The image is eight")
    client.post(url, {"decision": "approve", "reason": ""})
    entry.refresh_from_db()
    assert entry.review_status == "approved" and entry.reviewed_by == people["reviewer"]


def test_the_author_cannot_approve_their_own_entry(client, built, people, make_user):
    from lfr_governance.accounts.choices import Role

    both = make_user("both_roles", Role.INTELLIGENCE_OFFICER, Role.REVIEWER)
    services.watchlist_reviewer_assign(actor=people["owner"], watchlist=built["watchlist"], reviewer=both)
    entry = services.entry_create(actor=both, watchlist=built["watchlist"], subject_ref="PNC-05/555E", **ENTRY_DEFAULTS)
    client.force_login(both)
    review = client.get(reverse("watchlists:review", args=[built["watchlist"].pk])).content.decode()
    assert "You added this entry, so another reviewer must review it." in review
    response = client.post(reverse("watchlists:entry_review", args=[entry.pk]), {"decision": "approve"})
    assert response.status_code == 403


def test_viewing_an_image_needs_a_justification_and_is_audited_each_time(client, built, people, face_bytes):
    image, watchlist = built["image"], built["watchlist"]
    client.force_login(people["reviewer"])
    file_url = reverse("watchlists:image_file", args=[image.pk])
    response = client.get(file_url)
    assert response.status_code == 302 and response["Location"].startswith(
        reverse("watchlists:justify", args=[watchlist.pk]))
    assert not AuditEvent.objects.filter(action="consultation").exists()

    page_url = reverse("watchlists:image", args=[image.pk])
    justify_url = client.get(page_url)["Location"]
    response = client.post(justify_url, {"justification": "look", "next": page_url})
    assert response.status_code == 400 and "at least 10 characters" in response.content.decode()
    response = client.post(justify_url, {"justification": "Reviewing image quality for Operation Harbour",
                                         "next": page_url})
    assert response.status_code == 302 and response["Location"] == page_url
    assert f'src="{file_url}"' in client.get(page_url).content.decode()

    for _ in range(2):
        response = client.get(file_url)
        assert response.status_code == 200 and response.content == face_bytes("img1.jpg")
        assert response["Content-Type"] == "image/jpeg" and "no-store" in response["Cache-Control"]
    views = AuditEvent.objects.filter(action="consultation", event="watchlist.image_view", target_id=str(image.pk))
    assert views.count() == 2
    assert {(v.actor_id, v.justification) for v in views} == {
        (people["reviewer"].pk, "Reviewing image quality for Operation Harbour")}


def test_justification_ignores_a_next_address_off_this_site(client, built, people):
    client.force_login(people["owner"])
    url = reverse("watchlists:justify", args=[built["watchlist"].pk])
    response = client.post(url, {"justification": "Checking the image I uploaded", "next": "https://evil.example/"})
    assert response["Location"] == reverse("watchlists:detail", args=[built["watchlist"].pk])


def test_freeze_shows_the_problems_then_the_digest(client, watchlist, people, add_entry):
    entry, image = add_entry(watchlist, people["owner"], "PNC-01/111A", "img1.jpg")
    client.force_login(people["owner"])
    freeze_url = reverse("watchlists:freeze", args=[watchlist.pk])
    response = client.post(freeze_url)
    body = response.content.decode()
    assert response.status_code == 400 and "The version cannot be frozen yet" in body
    assert "PNC-01/111A: not approved by a reviewer (Awaiting review)." in body
    services.entry_review(actor=people["reviewer"], entry=entry, approve=True)
    response = client.post(freeze_url)
    assert response.status_code == 302
    version = watchlist.versions.get(number=1)
    detail = client.get(response["Location"]).content.decode()
    assert version.status == "frozen" and version.digest in detail
    assert "Owner Tester" in detail and "Freeze this version" not in detail


def test_frozen_times_are_shown_in_uk_time(client, frozen, people, watchlist):
    from zoneinfo import ZoneInfo

    client.force_login(people["reviewer"])
    detail = client.get(reverse("watchlists:detail", args=[watchlist.pk])).content.decode()
    local = frozen.frozen_at.astimezone(ZoneInfo("Europe/London"))
    assert local.strftime("%H:%M") in detail and frozen.digest in detail and "yunet-sface" in detail


def test_bulk_import_form_and_progress(client, watchlist, people, face_bytes):
    client.force_login(people["owner"])
    url = reverse("watchlists:import_new", args=[watchlist.pk])
    page = client.get(url).content.decode()
    assert "subject_under_18" in page and "serious_offence" in page and "pace_custody" in page
    response = client.post(url, {"csv_file": upload("e.csv", b"name,age\nx,1\n", "text/csv"),
                                  "zip_file": upload("i.zip", zip_of(**{"a.jpg": b"x"}), "application/zip")})
    assert response.status_code == 400 and "The CSV lacks the column(s)" in response.content.decode()
    assert 'href="#id_csv_file"' in response.content.decode()
    row = "PNC-09/999Z,warrant,,pace_custody,custody,2025-03-01,INT/1,Wanted on warrant.,a.jpg\n"
    response = client.post(url, {"csv_file": upload("e.csv", (CSV_HEADER + row).encode(), "text/csv"),
                                  "zip_file": upload("i.zip", zip_of(**{"a.jpg": face_bytes("img2.jpg")}),
                                                     "application/zip")})
    bulk = BulkImport.objects.get()
    assert response.status_code == 302 and response["Location"] == reverse("watchlists:import", args=[bulk.pk])
    page = client.get(response["Location"]).content.decode()
    assert "<progress" in page
    progress = client.get(reverse("watchlists:import_progress", args=[bulk.pk])).json()
    assert progress["status"] == "queued" and progress["total"] == 1 and progress["percent"] == 0

    from watchlists.bulk import bulk_import_run

    bulk_import_run(import_id=bulk.pk)
    page = client.get(reverse("watchlists:import", args=[bulk.pk])).content.decode()
    assert "Results by row" in page and "PNC-09/999Z" in page and "Accepted" in page
    assert client.get(reverse("watchlists:import_progress", args=[bulk.pk])).json()["percent"] == 100


def test_administrator_destroys_a_version_with_a_reason(client, built, people):
    version = built["version"]
    client.force_login(people["admin"])
    url = reverse("watchlists:version_destroy", args=[version.pk])
    response = client.post(url, {"reason": ""})
    assert response.status_code == 400 and "Enter the reason for destroying" in response.content.decode()
    response = client.post(url, {"reason": "Operation cancelled; images no longer needed"})
    assert response.status_code == 302 and response["Location"] == reverse("watchlists:destroy_list")
    version.refresh_from_db()
    assert version.status == "destroyed" and version.manifest.reason.startswith("Operation cancelled")
    assert not ReferenceImage.objects.filter(entry__version=version).exists()
    assert AuditEvent.objects.filter(event="watchlist.version_destroy", actor=people["admin"]).exists()
    client.force_login(people["owner"])
    assert client.post(url, {"reason": "I want to"}).status_code == 403
