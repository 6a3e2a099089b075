"""Several images per entry: the live gallery holds one row per watchlist entry, the L2-normalised mean of its
accepted images' templates, and an alert from it names the entry and shows its first accepted image."""

from datetime import date

import numpy as np
import pytest

from deployments.models import Deployment
from lfr_governance.faces import decode_image, get_engine
from matching import pipeline
from matching.models import Alert
from watchlists import services as watchlist_services
from watchlists.choices import ImageState
from watchlists.models import ReferenceImage, WatchlistEntry

from .conftest import jpeg_of, subject_ref

pytestmark = [pytest.mark.django_db, pytest.mark.usefixtures("fresh_worker_memory")]

# person01: two enrolment photographs (img1, img4); person02: one (img3). img2 is a third photograph of person01.
TWO_IMAGES = ("img1.jpg", "img4.jpg")
PROBE = "img2.jpg"


@pytest.fixture
def frozen(watchlist, people, add_entry, face_bytes):
    """Overrides the matching fixture: person01 with two accepted images, person02 with one."""
    entry, first = add_entry(watchlist, people["owner"], subject_ref("person01"), TWO_IMAGES[0],
                             image_capture_date=date(2025, 1, 1))
    second = watchlist_services.reference_image_add(actor=people["owner"], entry=entry,
                                                    data=face_bytes(TWO_IMAGES[1]), filename=TWO_IMAGES[1])
    watchlist_services.reference_image_assess(image_id=second.pk)
    other, _ = add_entry(watchlist, people["owner"], subject_ref("person02"), "img3.jpg", category="serious_offence",
                         offence="robbery", image_capture_date=date(2025, 1, 2))
    assert set(ReferenceImage.objects.values_list("state", flat=True)) == {ImageState.ACCEPTED}
    for each in (entry, other):
        watchlist_services.entry_review(actor=people["reviewer"], entry=each, approve=True)
    return watchlist_services.watchlist_freeze(actor=people["owner"], watchlist=watchlist)


def _templates(entry: WatchlistEntry) -> list[np.ndarray]:
    return [np.frombuffer(bytes(image.template), dtype=np.float32)
            for image in entry.images.filter(state=ImageState.ACCEPTED).order_by("created_at", "pk")]


def _unit(vector: np.ndarray) -> np.ndarray:
    return vector / np.linalg.norm(vector)


def _rows(gallery) -> np.ndarray:
    """The gallery's rows, read back through its public scoring (the identity's scores are the rows)."""
    return gallery.scores(np.eye(gallery.dim, dtype=np.float32)).T


def test_an_entry_with_two_images_is_one_gallery_row_their_normalised_mean(frozen):
    built = pipeline.gallery_build(frozen.pk, frozen.digest)
    entries = {e.subject_ref: e for e in frozen.entries.all()}
    two, one = entries[subject_ref("person01")], entries[subject_ref("person02")]
    assert sorted(built.gallery.labels) == sorted([two.pk, one.pk])  # one row per entry, labelled by the entry
    rows = dict(zip(built.gallery.labels, _rows(built.gallery)))
    first, second = _templates(two)
    expected = _unit(_unit(first) + _unit(second))
    np.testing.assert_allclose(rows[two.pk], expected, atol=1e-5)
    assert abs(float(rows[two.pk] @ _unit(first))) < 0.999  # neither image alone
    np.testing.assert_allclose(rows[one.pk], _unit(_templates(one)[0]), atol=1e-5)
    first_image = two.images.order_by("created_at", "pk").first()
    assert built.entries[two.pk].reference_image_id == first_image.pk and built.entries[two.pk].images == 2
    assert built.entries[two.pk].subject_ref == two.subject_ref and built.entry_of(two.pk) == two.pk


def test_a_third_photograph_matches_the_entry_of_two_and_its_alert_names_the_entry(live, node, post_frame,
                                                                                  face_bytes, published):
    entry = WatchlistEntry.objects.get(version=live.watchlist_version, subject_ref=subject_ref("person01"))
    first, second = _templates(entry)
    frame = jpeg_of(face_bytes(PROBE))
    engine = get_engine()
    image = decode_image(frame)
    probe = engine.embed([engine.align(image, engine.detect(image)[0])])[0]
    alone, mean = float(probe @ _unit(first)), float(probe @ _unit(_unit(first) + _unit(second)))
    # A threshold the first image alone does not reach and the entry's mean template does: the second image finds
    # the person here.
    threshold = round((alone + mean) / 2, 4)
    assert alone < threshold < mean, (alone, mean)
    Deployment.objects.filter(pk=live.pk).update(threshold=threshold, threshold_greyscale=threshold)
    assert post_frame(node.token, frame, frame_id="two-images").status_code == 202
    result = pipeline.frame_process(**published[0])
    assert (result.status, result.faces, result.alerts) == ("processed", 1, 1)
    alert = Alert.objects.get()
    assert alert.entry == entry and alert.threshold == threshold
    assert alert.score == pytest.approx(mean, abs=1e-3)
    assert alert.reference_image == entry.images.order_by("created_at", "pk").first()
    assert alert.runner_up_entry is None or alert.runner_up_entry.subject_ref == subject_ref("person02")
