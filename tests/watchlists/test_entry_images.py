"""Another image of an existing entry: added from the watchlist page by its team (stored, checked and audited as
the first image was), sending the entry back for review; the page shows how many accepted images an entry has
and that it is matched on the mean of their templates."""

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile
from django.urls import reverse

from lfr_governance.audit.models import AuditEvent
from watchlists import services
from watchlists.models import ReferenceImage, WatchlistEntry

pytestmark = pytest.mark.django_db


def upload(name: str, data: bytes, content_type: str = "image/jpeg"):
    return SimpleUploadedFile(name, data, content_type=content_type)


@pytest.fixture
def approved(watchlist, people, add_entry):
    entry, image = add_entry(watchlist, people["owner"], "PNC-01/111A", "img1.jpg")
    assert image.state == "accepted", image.refusal_message
    services.entry_review(actor=people["reviewer"], entry=entry, approve=True)
    entry.refresh_from_db()
    return entry


def _detail(client, watchlist) -> str:
    return client.get(reverse("watchlists:detail", args=[watchlist.pk])).content.decode()


def test_the_team_adds_another_image_and_the_page_says_the_entry_is_matched_on_their_mean(client, watchlist,
                                                                                         people, approved,
                                                                                         face_bytes):
    client.force_login(people["owner"])
    url = reverse("watchlists:entry_image_add", args=[approved.pk])
    detail = _detail(client, watchlist)
    assert f'href="{url}"' in detail and "Add another image" in detail
    assert f'data-testid="entry-template-{approved.pk}">1 accepted image.<' in detail
    page = client.get(url).content.decode()
    assert "Add another image of PNC-01/111A" in page and "mean of its accepted images" in page
    assert 'data-testid="accepted-images">This entry has 1 accepted image.<' in page

    response = client.post(url, {"image": upload("img4.jpg", face_bytes("img4.jpg"))})
    assert response.status_code == 302 and response["Location"].endswith(f"#entry-{approved.pk}")
    second = approved.images.order_by("-pk").first()
    assert approved.images.count() == 2 and second.state == "queued" and second.uploaded_by == people["owner"]
    audit = AuditEvent.objects.get(event="watchlist.image_add", target_id=str(second.pk))
    assert audit.actor == people["owner"] and audit.subject_ref == "PNC-01/111A"
    assert audit.changes == {"sha256": second.sha256, "entry": approved.pk}
    approved.refresh_from_db()
    assert approved.review_status == "pending"  # a new image needs review again

    services.reference_image_assess(image_id=second.pk)  # the enrolment worker's task body
    assert AuditEvent.objects.filter(event="watchlist.image_assess", target_id=str(second.pk)).exists()
    detail = _detail(client, watchlist)
    assert (f'data-testid="entry-template-{approved.pk}">2 accepted images: the entry is matched on the mean of '
            "their templates.<") in detail
    client.force_login(people["reviewer"])
    review = client.get(reverse("watchlists:review", args=[watchlist.pk])).content.decode()
    assert "2 accepted images: the entry is matched on the mean of their templates" in review


def test_a_refused_image_is_not_counted_and_a_file_that_is_no_image_is_named(client, watchlist, people, approved):
    from .conftest import png_bytes

    client.force_login(people["owner"])
    url = reverse("watchlists:entry_image_add", args=[approved.pk])
    response = client.post(url, {"image": upload("notes.jpg", b"this is not a photograph")})
    assert response.status_code == 400
    body = response.content.decode()
    assert "notes.jpg is not an image this service accepts. Upload a JPEG or PNG." in body
    assert 'href="#id_image"' in body and approved.images.count() == 1
    assert client.post(url, {}).status_code == 400  # no file chosen
    assert client.post(url, {"image": upload("grey.png", png_bytes(), "image/png")}).status_code == 302
    blank = approved.images.order_by("-pk").first()
    services.reference_image_assess(image_id=blank.pk)
    blank.refresh_from_db()
    assert blank.state == "refused"
    assert f'data-testid="entry-template-{approved.pk}">1 accepted image.<' in _detail(client, watchlist)


def test_only_the_watchlists_team_may_add_an_image(client, watchlist, people, approved, face_bytes):
    url = reverse("watchlists:entry_image_add", args=[approved.pk])
    for who in ("outsider", "reviewer", "operator"):
        client.force_login(people[who])
        assert client.get(url).status_code == 404, who
        assert client.post(url, {"image": upload("img4.jpg", face_bytes("img4.jpg"))}).status_code == 404, who
    assert approved.images.count() == 1 and not AuditEvent.objects.filter(
        event="watchlist.image_add", target_id__in=[str(pk) for pk in ReferenceImage.objects.values_list("pk",
                                                                                                    flat=True)],
        actor__username__in=["outsider", "reviewer", "operator"]).exists()


def test_an_image_added_to_a_frozen_versions_entry_goes_to_its_copy_in_a_new_draft(client, watchlist, people,
                                                                                   approved, face_bytes):
    version = services.watchlist_freeze(actor=people["owner"], watchlist=watchlist)
    client.force_login(people["owner"])
    response = client.post(reverse("watchlists:entry_image_add", args=[approved.pk]),
                           {"image": upload("img4.jpg", face_bytes("img4.jpg"))})
    assert response.status_code == 302
    copy = WatchlistEntry.objects.exclude(version=version).get(subject_ref="PNC-01/111A")
    assert copy.version.number == 2 and copy.images.count() == 2 and approved.images.count() == 1
    assert response["Location"].endswith(f"#entry-{copy.pk}")
    version.refresh_from_db()
    assert version.status == "frozen"  # the authorised version never changes
