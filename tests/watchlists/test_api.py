"""The watchlists REST API: who gets what from every endpoint, and the main journeys through it."""

import csv
import io
import zipfile
from types import SimpleNamespace

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile
from rest_framework.test import APIClient

from lfr_governance.accounts.choices import Role
from lfr_governance.audit.models import AuditEvent
from watchlists import bulk, services
from watchlists.models import ReferenceImage, WatchlistEntry

from .conftest import ENTRY_DEFAULTS, png_bytes

pytestmark = pytest.mark.django_db

API = "/api/v1"
JUSTIFICATION = "Reviewing the entry before the Saturday deployment"


def entry_json(subject_ref: str, **fields) -> dict:
    values = {**ENTRY_DEFAULTS, "subject_ref": subject_ref, **fields}
    values["image_capture_date"] = values["image_capture_date"].isoformat()
    return values


def import_files(image: bytes, subject_ref: str = "PNC-07/777G") -> dict:
    rows = io.StringIO()
    writer = csv.writer(rows)
    writer.writerow(bulk.REQUIRED_COLUMNS)
    writer.writerow([entry_json(subject_ref)[c] if c != "image" else "face.jpg" for c in bulk.REQUIRED_COLUMNS])
    archive = io.BytesIO()
    with zipfile.ZipFile(archive, "w") as zf:
        zf.writestr("face.jpg", image)
    return {
        "csv_file": SimpleUploadedFile("entries.csv", rows.getvalue().encode(), "text/csv"),
        "zip_file": SimpleUploadedFile("images.zip", archive.getvalue(), "application/zip"),
    }


@pytest.fixture
def api():
    """api(user) -> a client signed in through the session, as a browser would be; api(None) is anonymous."""

    def _client(user=None) -> APIClient:
        client = APIClient()
        if user is not None:
            client.force_login(user)
        return client

    return _client


@pytest.fixture
def scene(watchlist, people):
    """One of each object, built cheaply: an entry, a queued (unassessed) image and a queued import."""
    owner = people["owner"]
    entry = services.entry_create(actor=owner, watchlist=watchlist, subject_ref="PNC-01/111A", **ENTRY_DEFAULTS)
    image = services.reference_image_add(actor=owner, entry=entry, data=png_bytes(), filename="face.png")
    files = import_files(png_bytes(), "PNC-08/888H")
    imported = bulk.bulk_import_start(actor=owner, watchlist=watchlist, csv_data=files["csv_file"].read(),
                                      zip_data=files["zip_file"].read())
    return SimpleNamespace(watchlist=watchlist, version=watchlist.versions.get(), entry=entry, image=image,
                           bulk=imported)


# --- Who gets what ---------------------------------------------------------------------------

ROLES = ("anonymous", "outsider", "owner", "reviewer", "admin")
# (name, method, path, request, {role: status}); anonymous always gets 403 (session auth sends no challenge).
ENDPOINTS = [
    ("watchlist list", "get", "/watchlists/", None,
     {"outsider": 200, "owner": 200, "reviewer": 200, "admin": 200}),
    ("watchlist create", "post", "/watchlists/",
     lambda: {"operation_name": "Operation Tide", "objective": "Find a missing person", "intelligence_case_ref": "C/9"},
     {"outsider": 201, "owner": 201, "reviewer": 403, "admin": 403}),
    ("watchlist detail", "get", "/watchlists/{watchlist}/", None,
     {"outsider": 404, "owner": 200, "reviewer": 200, "admin": 404}),
    ("reviewer assign", "post", "/watchlists/{watchlist}/reviewers/", lambda: {"reviewer": "reviewer"},
     {"outsider": 404, "owner": 200, "reviewer": 403, "admin": 404}),
    ("entry list", "get", "/watchlists/{watchlist}/entries/", None,
     {"outsider": 404, "owner": 200, "reviewer": 200, "admin": 404}),
    ("entry create", "post", "/watchlists/{watchlist}/entries/", lambda: entry_json("PNC-09/999Z"),
     {"outsider": 404, "owner": 201, "reviewer": 403, "admin": 404}),
    ("entry detail", "get", "/entries/{entry}/", None,
     {"outsider": 404, "owner": 200, "reviewer": 200, "admin": 404}),
    ("entry update", "patch", "/entries/{entry}/", lambda: {"intelligence_ref": "INT/2026/0099"},
     {"outsider": 404, "owner": 200, "reviewer": 403, "admin": 404}),
    ("entry remove", "delete", "/entries/{entry}/", None,
     {"outsider": 404, "owner": 204, "reviewer": 403, "admin": 404}),
    ("entry review", "post", "/entries/{entry}/review/", lambda: {"decision": "approve"},
     {"outsider": 404, "owner": 403, "reviewer": 200, "admin": 404}),
    ("image add", "post", "/entries/{entry}/images/",
     lambda: {"image": SimpleUploadedFile("face.png", png_bytes(), "image/png")},
     {"outsider": 404, "owner": 202, "reviewer": 403, "admin": 404}),
    ("image detail", "get", "/images/{image}/", None,
     {"outsider": 404, "owner": 200, "reviewer": 200, "admin": 404}),
    ("image content", "get", "/images/{image}/content/?justification=" + JUSTIFICATION.replace(" ", "+"), None,
     {"outsider": 404, "owner": 200, "reviewer": 200, "admin": 404}),
    # The owner may freeze, but this draft is not ready: 400 shows the request got past the access checks.
    ("watchlist freeze", "post", "/watchlists/{watchlist}/freeze/", None,
     {"outsider": 404, "owner": 400, "reviewer": 403, "admin": 404}),
    ("version destroy", "post", "/versions/{version}/destroy/", lambda: {"reason": "Deployment ended"},
     {"outsider": 404, "owner": 403, "reviewer": 403, "admin": 200}),
    ("import start", "post", "/watchlists/{watchlist}/imports/", lambda: import_files(png_bytes()),
     {"outsider": 404, "owner": 202, "reviewer": 403, "admin": 404}),
    ("import detail", "get", "/imports/{bulk}/", None,
     {"outsider": 404, "owner": 200, "reviewer": 200, "admin": 404}),
]
MULTIPART = {"image add", "import start"}


@pytest.mark.parametrize("role", ROLES)
@pytest.mark.parametrize("name, method, path, body, expected", ENDPOINTS, ids=[e[0] for e in ENDPOINTS])
def test_access_matrix(api, scene, people, role, name, method, path, body, expected):
    client = api(people.get(role))
    url = API + path.format(watchlist=scene.watchlist.pk, entry=scene.entry.pk, image=scene.image.pk,
                            version=scene.version.pk, bulk=scene.bulk.pk)
    kwargs = {"format": "multipart" if name in MULTIPART else "json"} if body else {}
    response = getattr(client, method)(url, body() if body else None, **kwargs)
    want = 403 if role == "anonymous" else expected[role]
    assert response.status_code == want, (name, role, response.content[:300])
    if want >= 400:
        assert set(response.json()) == {"detail", "code", "fields"}
    if role == "anonymous":
        assert response.json()["code"] == "not_authenticated"


@pytest.mark.parametrize("role, listed", [("owner", True), ("reviewer", True), ("outsider", False), ("admin", False)])
def test_list_shows_only_visible_watchlists(api, watchlist, people, role, listed):
    response = api(people[role]).get(f"{API}/watchlists/")
    assert response.status_code == 200
    assert (watchlist.pk in [w["id"] for w in response.json()["results"]]) is listed


@pytest.mark.parametrize("path", ["/entries/{}/", "/images/{}/", "/imports/{}/", "/watchlists/{}/"])
def test_missing_and_forbidden_answer_alike(api, scene, people, path):
    existing = {"/entries/{}/": scene.entry, "/images/{}/": scene.image, "/imports/{}/": scene.bulk,
                "/watchlists/{}/": scene.watchlist}[path].pk
    client = api(people["outsider"])
    forbidden, missing = client.get(API + path.format(existing)), client.get(API + path.format(999_999))
    assert forbidden.status_code == missing.status_code == 404
    assert forbidden.json() == missing.json()


# --- Building a watchlist --------------------------------------------------------------------


def test_create_watchlist_entry_and_image(api, people, face_bytes):
    client = api(people["owner"])
    response = client.post(f"{API}/watchlists/", {"operation_name": "Operation Harbour", "objective": "Arrests",
                                                 "intelligence_case_ref": "CASE/2026/17"}, format="json")
    assert response.status_code == 201, response.content
    created = response.json()
    assert created["team"] == "Test Intelligence Unit" and created["created_by"] == "owner"
    assert [(v["number"], v["status"]) for v in created["versions"]] == [(1, "draft")]
    assert created["draft_counts"]["total"] == 0

    response = client.post(f"{API}/watchlists/{created['id']}/entries/", entry_json("PNC-01/111A"), format="json")
    assert response.status_code == 201, response.content
    entry = response.json()
    assert entry["review_status"] == "pending" and entry["author"] == "owner" and entry["images"] == []

    upload = SimpleUploadedFile("img1.jpg", face_bytes("img1.jpg"), "image/jpeg")
    response = client.post(f"{API}/entries/{entry['id']}/images/", {"image": upload}, format="multipart")
    assert response.status_code == 202, response.content
    image_id = response.json()["id"]
    assert response.json()["state"] == "queued" and response["Location"] == f"{API}/images/{image_id}/"

    services.reference_image_assess(image_id=image_id)  # the on-commit task does not run inside a test transaction
    image = client.get(f"{API}/images/{image_id}/").json()
    assert image["state"] == "accepted" and image["refusal_reason"] == ""
    assert image["quality"]["face_count"] == 1 and image["quality"]["detector_score"] > 0.5
    assert "template" not in image
    detail = client.get(f"{API}/watchlists/{created['id']}/").json()
    assert detail["draft_counts"] == {"total": 1, "approved": 0, "queued": 0, "accepted": 1, "refused": 0}
    assert client.get(f"{API}/entries/{entry['id']}/").json()["images"][0]["state"] == "accepted"


def test_bad_upload_is_refused_with_its_reason(api, scene, people):
    text = SimpleUploadedFile("notes.txt", b"this is a text file, not a photograph", "text/plain")
    response = api(people["owner"]).post(f"{API}/entries/{scene.entry.pk}/images/", {"image": text},
                                         format="multipart")
    assert response.status_code == 400
    body = response.json()
    assert body["code"] == "wrong_type" and "Upload a JPEG or PNG" in body["detail"]
    assert body["fields"]["image"] == [body["detail"]]
    assert ReferenceImage.objects.filter(entry=scene.entry).count() == 1  # only the scene's own image


def test_validation_errors_name_the_field(api, watchlist, people):
    client = api(people["owner"])
    response = client.post(f"{API}/watchlists/{watchlist.pk}/entries/", entry_json("PNC-X", category="other"),
                           format="json")
    assert response.status_code == 400
    assert response.json()["code"] == "invalid"
    assert response.json()["fields"]["category"] == ["Choose one of the listed inclusion categories."]

    missing = {k: v for k, v in entry_json("PNC-X").items() if k != "justification"}
    response = client.post(f"{API}/watchlists/{watchlist.pk}/entries/", missing, format="json")
    assert response.status_code == 400 and "justification" in response.json()["fields"]

    entry = services.entry_create(actor=people["owner"], watchlist=watchlist, subject_ref="PNC-Y", **ENTRY_DEFAULTS)
    response = client.patch(f"{API}/entries/{entry.pk}/", {"category": "serious_offence"}, format="json")
    assert response.status_code == 400 and "offence" in response.json()["fields"]

    response = client.post(f"{API}/watchlists/{watchlist.pk}/reviewers/", {"reviewer": "nobody"}, format="json")
    assert response.json()["fields"]["reviewer"] == ["No active user has the username nobody."]
    response = client.post(f"{API}/watchlists/{watchlist.pk}/reviewers/", {"reviewer": "colleague"}, format="json")
    assert response.status_code == 400 and "reviewer role" in response.json()["fields"]["reviewer"][0]


def test_entries_of_the_latest_version_or_a_named_one(api, frozen, watchlist, people):
    client = api(people["reviewer"])
    api(people["owner"]).post(f"{API}/watchlists/{watchlist.pk}/entries/", entry_json("PNC-04/444D"), format="json")
    latest = client.get(f"{API}/watchlists/{watchlist.pk}/entries/").json()
    assert latest["count"] == 4
    first = client.get(f"{API}/watchlists/{watchlist.pk}/entries/?version=1").json()
    assert [e["subject_ref"] for e in first["results"]] == ["PNC-01/111A", "PNC-02/222B", "PNC-03/333C"]
    assert {e["version"] for e in first["results"]} == {frozen.pk}
    assert client.get(f"{API}/watchlists/{watchlist.pk}/entries/?version=9").status_code == 404
    response = client.get(f"{API}/watchlists/{watchlist.pk}/entries/?version=first")
    assert response.status_code == 400 and "version" in response.json()["fields"]


def test_changing_a_frozen_entry_changes_its_draft_copy(api, frozen, people):
    entry = frozen.entries.get(subject_ref="PNC-01/111A")
    response = api(people["owner"]).patch(f"{API}/entries/{entry.pk}/", {"intelligence_ref": "INT/2026/0100"},
                                          format="json")
    assert response.status_code == 200
    copy = response.json()
    assert copy["id"] != entry.pk and copy["version"] != frozen.pk
    assert copy["intelligence_ref"] == "INT/2026/0100" and copy["review_status"] == "pending"
    entry.refresh_from_db()
    assert entry.intelligence_ref == "INT/2026/0042"  # the frozen version never changes


# --- Review and freeze -----------------------------------------------------------------------


def test_review_by_the_author_is_refused(api, watchlist, make_user):
    both = make_user("both", Role.INTELLIGENCE_OFFICER, Role.REVIEWER)
    owner_client = api(watchlist.created_by)
    response = owner_client.post(f"{API}/watchlists/{watchlist.pk}/reviewers/", {"reviewer": "both"}, format="json")
    assert response.status_code == 200 and response.json() == {"watchlist": watchlist.pk, "reviewer": "both"}
    client = api(both)
    entry = client.post(f"{API}/watchlists/{watchlist.pk}/entries/", entry_json("PNC-05/555E"), format="json").json()
    response = client.post(f"{API}/entries/{entry['id']}/review/", {"decision": "approve"}, format="json")
    assert response.status_code == 403
    assert response.json()["detail"] == "You added this entry, so someone else must review it."
    assert WatchlistEntry.objects.get(pk=entry["id"]).review_status == "pending"


def test_returning_an_entry_needs_a_reason(api, scene, people):
    client = api(people["reviewer"])
    response = client.post(f"{API}/entries/{scene.entry.pk}/review/", {"decision": "return"}, format="json")
    assert response.status_code == 400 and "reason" in response.json()["fields"]
    response = client.post(f"{API}/entries/{scene.entry.pk}/review/",
                           {"decision": "return", "reason": "The capture date is wrong."}, format="json")
    assert response.status_code == 200
    assert response.json()["review_status"] == "returned" and response.json()["reviewed_by"] == "reviewer"


def test_freeze_lists_its_problems_then_freezes(api, watchlist, people, add_entry):
    client = api(people["owner"])
    entry, _ = add_entry(watchlist, people["owner"], "PNC-01/111A")
    services.entry_create(actor=people["owner"], watchlist=watchlist, subject_ref="PNC-02/222B", **ENTRY_DEFAULTS)
    response = client.post(f"{API}/watchlists/{watchlist.pk}/freeze/")
    assert response.status_code == 400
    problems = response.json()["fields"]["non_field_errors"]
    assert problems == [
        "PNC-01/111A: not approved by a reviewer (Awaiting review).",
        "PNC-02/222B: not approved by a reviewer (Awaiting review).",
        "PNC-02/222B: no accepted image.",
    ]
    assert all(problem in response.json()["detail"] for problem in problems)

    client.delete(f"{API}/entries/{WatchlistEntry.objects.get(subject_ref='PNC-02/222B').pk}/")
    api(people["reviewer"]).post(f"{API}/entries/{entry.pk}/review/", {"decision": "approve"}, format="json")
    response = client.post(f"{API}/watchlists/{watchlist.pk}/freeze/")
    assert response.status_code == 200, response.content
    version = response.json()
    assert version["status"] == "frozen" and len(version["digest"]) == 64 and version["size"] == 1
    assert version["frozen_by"] == "owner" and version["pack_id"] == "yunet-sface"
    detail = client.get(f"{API}/watchlists/{watchlist.pk}/").json()
    assert detail["versions"][0]["digest"] == version["digest"] and detail["draft_counts"] is None


# --- Consulting images, destroying versions ---------------------------------------------------


def test_image_content_needs_a_justification_and_is_audited(api, scene, people):
    client = api(people["reviewer"])
    url = f"{API}/images/{scene.image.pk}/content/"
    response = client.get(url)
    assert response.status_code == 400
    assert "X-Justification" in response.json()["fields"]["justification"][0]
    assert client.get(url, HTTP_X_JUSTIFICATION="because").status_code == 400  # too short
    assert not AuditEvent.objects.filter(action="consultation").exists()

    response = client.get(url, HTTP_X_JUSTIFICATION=JUSTIFICATION)
    assert response.status_code == 200
    assert response.content == png_bytes() and response["Content-Type"] == "image/png"
    assert "no-store" in response["Cache-Control"]
    event = AuditEvent.objects.get(action="consultation")
    assert event.justification == JUSTIFICATION and event.actor == people["reviewer"]
    assert event.target_id == str(scene.image.pk) and event.subject_ref == "PNC-01/111A"

    # An image client that accepts only images still gets the image, and JSON errors.
    assert client.get(url, {"justification": JUSTIFICATION}, HTTP_ACCEPT="image/png").status_code == 200
    assert client.get(url, HTTP_ACCEPT="image/png").json()["code"] == "invalid"
    assert AuditEvent.objects.filter(action="consultation").count() == 2


def test_administrator_destroys_a_version(api, frozen, people):
    client = api(people["admin"])
    assert client.post(f"{API}/versions/{frozen.pk}/destroy/", {}, format="json").status_code == 400
    response = client.post(f"{API}/versions/{frozen.pk}/destroy/", {"reason": "Deployment ended"}, format="json")
    assert response.status_code == 200
    assert response.json() | {"destroyed_at": None} == {
        "version": frozen.pk, "watchlist": frozen.watchlist_id, "number": 1, "status": "destroyed",
        "digest": frozen.digest, "reason": "Deployment ended", "destroyed_at": None, "destroyed_by": "admin",
        "entries": 3, "images_destroyed": 3,
    }
    assert not ReferenceImage.objects.filter(entry__version=frozen).exists()
    versions = api(people["owner"]).get(f"{API}/watchlists/{frozen.watchlist_id}/").json()["versions"]
    assert versions[0]["status"] == "destroyed" and versions[0]["destroyed_at"]


# --- Bulk import -----------------------------------------------------------------------------


def test_bulk_import_reports_each_row(api, watchlist, people, face_bytes):
    client = api(people["owner"])
    response = client.post(f"{API}/watchlists/{watchlist.pk}/imports/", import_files(face_bytes("img1.jpg")),
                           format="multipart")
    assert response.status_code == 202, response.content
    started = response.json()
    assert started["status"] == "queued" and started["total"] == 1 and started["results"] == []
    assert response["Location"] == f"{API}/imports/{started['id']}/"

    bulk.bulk_import_run(import_id=started["id"])  # the Celery task's body
    progress = api(people["reviewer"]).get(response["Location"]).json()
    assert progress["status"] == "done" and progress["percent"] == 100 and progress["accepted"] == 1
    assert progress["results"] == [{"row": 2, "subject_ref": "PNC-07/777G", "accepted": True, "reason": ""}]

    bad = import_files(b"")
    bad["csv_file"] = SimpleUploadedFile("entries.csv", b"subject_ref\nPNC-1\n", "text/csv")
    response = client.post(f"{API}/watchlists/{watchlist.pk}/imports/", bad, format="multipart")
    assert response.status_code == 400 and "lacks the column(s)" in response.json()["fields"]["csv_file"][0]


# --- Schema ----------------------------------------------------------------------------------


def test_schema_lists_the_watchlist_endpoints(api, people):
    response = api(people["owner"]).get(f"{API}/schema/", {"format": "json"})
    assert response.status_code == 200
    paths = response.json()["paths"]
    for path in ("/api/v1/watchlists/", "/api/v1/watchlists/{id}/freeze/", "/api/v1/entries/{id}/review/",
                 "/api/v1/images/{id}/content/", "/api/v1/versions/{id}/destroy/", "/api/v1/imports/{id}/"):
        assert path in paths
    upload = paths["/api/v1/entries/{id}/images/"]["post"]
    assert list(upload["requestBody"]["content"]) == ["multipart/form-data"]
    assert "202" in upload["responses"]
    assert "template" not in response.json()["components"]["schemas"]["ImageOutput"]["properties"]


HUGE = "2343405516123306917103665152"  # beyond PostgreSQL's bigint


@pytest.mark.parametrize("path", ["/watchlists/", "/watchlists/{watchlist}/entries/",
                                  "/watchlists/{watchlist}/entries/?version=1"])
def test_list_paging_out_of_range_is_clamped_or_refused_never_a_server_error(api, scene, people, path):
    client = api(people["owner"])
    url = API + path.format(watchlist=scene.watchlist.pk)
    join = "&" if "?" in url else "?"
    clamped = client.get(f"{url}{join}limit={HUGE}")
    assert clamped.status_code == 200, clamped.content[:300]
    assert len(clamped.json()["results"]) == clamped.json()["count"]  # every row, at most the page limit
    assert client.get(f"{url}{join}offset={HUGE}").json()["results"] == []  # past the end: an empty page
    for query in ("offset=-1", "offset=NaN", "offset=1e3", "limit=-5", "limit=0", "limit=NaN", "limit=ten",
                  f"limit={'9' * 5000}"):
        refused = client.get(f"{url}{join}{query}")
        assert refused.status_code == 400, (query, refused.content[:300])
        body = refused.json()
        name = query.split("=")[0]
        assert body["code"] == "invalid" and name in body["fields"], body


@pytest.mark.parametrize("value", [HUGE, "-1", "NaN"])
def test_a_version_number_out_of_range_is_refused_by_name(api, scene, people, value):
    response = api(people["owner"]).get(f"{API}/watchlists/{scene.watchlist.pk}/entries/", {"version": value})
    assert response.status_code in (400, 404), response.content[:300]
    assert set(response.json()) == {"detail", "code", "fields"}
