import io
from datetime import date

import pytest
from django.conf import settings
from django.core.exceptions import PermissionDenied, ValidationError
from django.core.files.storage import default_storage
from PIL import Image

from lfr_governance.audit.models import AuditEvent
from watchlists import selectors, services
from lfr_governance.images import ImageRefused
from watchlists.models import ReferenceImage

from .conftest import ENTRY_DEFAULTS, png_bytes

pytestmark = pytest.mark.django_db


def test_an_entry_in_each_category(watchlist, people, add_entry):
    for i, category in enumerate(settings.LFR_INCLUSION_CATEGORIES):
        offence = "robbery" if category == "serious_offence" else ""
        entry, image = add_entry(watchlist, people["owner"], f"PNC-{i}", "img2.jpg", category=category, offence=offence)
        assert entry.category == category and image.state == "accepted"
        assert len(bytes(image.template)) == 4 * 128 and image.pack_id == "yunet-sface"
    assert AuditEvent.objects.filter(event="watchlist.entry_create").count() == len(settings.LFR_INCLUSION_CATEGORIES)


def test_entry_rules(watchlist, people):
    def create(**fields):
        return services.entry_create(actor=people["owner"], watchlist=watchlist, subject_ref="PNC-X",
                                     **{**ENTRY_DEFAULTS, **fields})

    with pytest.raises(ValidationError) as exc:
        create(category="other")
    assert "category" in exc.value.message_dict
    with pytest.raises(ValidationError) as exc:
        create(category="serious_offence")
    assert "offence" in exc.value.message_dict
    with pytest.raises(ValidationError) as exc:
        create(category="warrant", offence="robbery")
    assert "offence" in exc.value.message_dict
    with pytest.raises(ValidationError) as exc:
        create(subject_under_18=True)
    assert "under_18_rationale" in exc.value.message_dict
    with pytest.raises(ValidationError) as exc:
        create(image_capture_date=date(2999, 1, 1))
    assert "image_capture_date" in exc.value.message_dict
    entry = create(subject_under_18=True, under_18_rationale="Missing 15-year-old at risk of exploitation.")
    assert entry.subject_under_18


def test_size_cap(watchlist, people, settings):
    settings.LFR_WATCHLIST_MAX_ENTRIES = 1
    services.entry_create(actor=people["owner"], watchlist=watchlist, subject_ref="A", **ENTRY_DEFAULTS)
    with pytest.raises(ValidationError, match="most entries allowed"):
        services.entry_create(actor=people["owner"], watchlist=watchlist, subject_ref="B", **ENTRY_DEFAULTS)


def _entry(watchlist, people):
    return services.entry_create(actor=people["owner"], watchlist=watchlist, subject_ref="PNC-Q", **ENTRY_DEFAULTS)


@pytest.mark.parametrize(
    "make, code, words",
    [
        (lambda fb: b"GIF89a" + b"\0" * 100, "wrong_type", "Upload a JPEG or PNG"),
        (lambda fb: b"this is a text file, not a photograph", "wrong_type", "Upload a JPEG or PNG"),
        (lambda fb: fb("img1.jpg")[:5000], "corrupt", "damaged or incomplete"),
        (lambda fb: _bomb(), "decompression_bomb", "malicious"),
        (lambda fb: _gif(), "wrong_type", "only JPEG and PNG"),
    ],
)
def test_bad_files_are_refused_with_a_reason(watchlist, people, face_bytes, make, code, words):
    entry = _entry(watchlist, people)
    with pytest.raises(ImageRefused) as exc:
        services.reference_image_add(actor=people["owner"], entry=entry, data=make(face_bytes), filename="x.jpg")
    assert exc.value.code == code and words in exc.value.message
    assert not ReferenceImage.objects.exists()


def test_oversize_file_is_refused(watchlist, people, face_bytes, settings):
    settings.LFR_WATCHLIST_IMAGE_MAX_BYTES = 10_000
    with pytest.raises(ImageRefused) as exc:
        services.reference_image_add(actor=people["owner"], entry=_entry(watchlist, people),
                                     data=face_bytes("img1.jpg"), filename="big.jpg")
    assert exc.value.code == "too_large" and "the limit is" in exc.value.message


def _bomb() -> bytes:
    out = io.BytesIO()
    Image.new("1", (12000, 12000)).save(out, "PNG")  # 144 Mpixel in a few kilobytes
    return out.getvalue()


def _gif() -> bytes:
    out = io.BytesIO()
    Image.new("RGB", (50, 50)).save(out, "GIF")
    return out.getvalue()


@pytest.mark.parametrize(
    "image, reason",
    [
        (lambda fb: png_bytes(), "no_face"),
        (lambda fb: fb("couple.jpg"), "multiple_faces"),
        (lambda fb: _tiny(fb("img1.jpg")), "face_too_small"),
    ],
)
def test_quality_gate_refuses_with_its_reason(watchlist, people, add_entry, face_bytes, image, reason):
    _, img = add_entry(watchlist, people["owner"], "PNC-Z", image(face_bytes))
    assert img.state == "refused" and img.refusal_reason == reason and img.refusal_message
    assert img.template is None


def _tiny(data: bytes) -> bytes:
    im = Image.open(io.BytesIO(data)).convert("RGB")
    canvas = Image.new("RGB", (800, 800), (128, 128, 128))
    canvas.paste(im.resize((im.width // 12, im.height // 12)), (300, 300))
    out = io.BytesIO()
    canvas.save(out, "JPEG", quality=95)
    return out.getvalue()


def test_author_cannot_review_own_entry(watchlist, people, add_entry, make_user):
    from lfr_governance.accounts.choices import Role

    both = make_user("both", Role.INTELLIGENCE_OFFICER, Role.REVIEWER)
    services.watchlist_reviewer_assign(actor=people["owner"], watchlist=watchlist, reviewer=both)
    entry, _ = add_entry(watchlist, both, "PNC-SELF")
    with pytest.raises(PermissionDenied, match="someone else must review"):
        services.entry_review(actor=both, entry=entry, approve=True)
    # A reviewer not assigned to this watchlist cannot review it either.
    with pytest.raises(PermissionDenied):
        services.entry_review(actor=people["outside_reviewer"], entry=entry, approve=True)
    with pytest.raises(ValidationError, match="Say why"):
        services.entry_review(actor=people["reviewer"], entry=entry, approve=False)
    returned = services.entry_review(actor=people["reviewer"], entry=entry, approve=False, reason="Image is 2009.")
    assert returned.review_status == "returned"


def test_freeze_needs_every_entry_reviewed(watchlist, people, add_entry):
    add_entry(watchlist, people["owner"], "PNC-1")
    with pytest.raises(ValidationError, match="not approved by a reviewer"):
        services.watchlist_freeze(actor=people["owner"], watchlist=watchlist)


def test_freeze_digest_is_stable_and_changes_with_any_edit(frozen, people, watchlist, add_entry):
    assert frozen.status == "frozen" and frozen.size == 3 and frozen.pack_id == "yunet-sface"
    assert len(frozen.digest) == 64
    assert selectors.version_digest(frozen) == frozen.digest  # recomputed from the stored rows
    # The same content built again from scratch gives the same digest.
    again = services.watchlist_create(actor=people["owner"], operation_name="Copy", objective="Same entries",
                                      intelligence_case_ref="CASE/2")
    services.watchlist_reviewer_assign(actor=people["owner"], watchlist=again, reviewer=people["reviewer"])
    for ref, image in (("PNC-01/111A", "img1.jpg"), ("PNC-02/222B", "img3.jpg"), ("PNC-03/333C", "img17.jpg")):
        entry, _ = add_entry(again, people["owner"], ref, image)
        services.entry_review(actor=people["reviewer"], entry=entry, approve=True)
    assert services.watchlist_freeze(actor=people["owner"], watchlist=again).digest == frozen.digest

    entry = frozen.entries.get(subject_ref="PNC-02/222B")
    edited = services.entry_update(actor=people["owner"], entry=entry, justification="Updated intelligence 2026-11.")
    v2 = edited.version
    assert v2.number == 2 and v2.status == "draft" and edited.review_status == "pending"
    services.entry_review(actor=people["reviewer"], entry=edited, approve=True)
    v2 = services.watchlist_freeze(actor=people["owner"], watchlist=watchlist)
    assert v2.digest != frozen.digest


def test_a_frozen_version_never_changes(frozen, people, watchlist, face_bytes):
    before = selectors.version_digest(frozen)
    entry = frozen.entries.get(subject_ref="PNC-01/111A")
    services.entry_update(actor=people["owner"], entry=entry, category="risk_of_harm")
    services.reference_image_add(actor=people["owner"], entry=entry, data=face_bytes("img2.jpg"))
    services.entry_remove(actor=people["owner"], entry=frozen.entries.get(subject_ref="PNC-03/333C"))
    frozen.refresh_from_db()
    assert selectors.version_digest(frozen) == before == frozen.digest
    assert frozen.entries.get(subject_ref="PNC-01/111A").category == "warrant"
    assert frozen.entries.count() == 3
    draft = watchlist.versions.get(status="draft")
    assert draft.number == 2 and draft.entries.count() == 2
    with pytest.raises(ValidationError, match="frozen"):
        services.entry_review(actor=people["reviewer"], entry=entry, approve=True)


def test_destroy_removes_files_and_rows_and_keeps_the_manifest(frozen, people, django_capture_on_commit_callbacks):
    names = [img.image.name for img in ReferenceImage.objects.filter(entry__version=frozen)]
    assert names and all(default_storage.exists(n) for n in names)
    with pytest.raises(PermissionDenied):
        services.watchlist_version_destroy(version=frozen, reason="test", actor=people["owner"])
    with django_capture_on_commit_callbacks(execute=True):
        manifest = services.watchlist_version_destroy(version=frozen, reason="Deployment ended", actor=people["admin"])
    assert not ReferenceImage.objects.filter(entry__version=frozen).exists()
    assert not any(default_storage.exists(n) for n in names)
    frozen.refresh_from_db()
    assert frozen.status == "destroyed" and frozen.destroyed_at
    assert [e["subject_ref"] for e in manifest.entries] == ["PNC-01/111A", "PNC-02/222B", "PNC-03/333C"]
    assert all(set(e) == {"subject_ref", "category", "offence", "image_capture_date", "added_at", "images_destroyed"}
               for e in manifest.entries)
    erasures = AuditEvent.objects.filter(action="erasure")
    assert erasures.filter(event="watchlist.image_destroy").count() == 3
    assert erasures.filter(event="watchlist.version_destroy", target_id=str(frozen.pk)).exists()
    # Idempotent: a second run changes nothing.
    assert services.watchlist_version_destroy(version=frozen, reason="again", actor=people["admin"]) == manifest


def test_every_change_writes_an_audit_row(frozen, people):
    events = set(AuditEvent.objects.values_list("event", flat=True))
    assert {"watchlist.create", "watchlist.reviewer_assign", "watchlist.entry_create", "watchlist.image_add",
            "watchlist.image_assess", "watchlist.entry_review", "watchlist.freeze"} <= events
    freeze = AuditEvent.objects.get(event="watchlist.freeze")
    assert freeze.actor == people["owner"] and freeze.changes["digest"] == frozen.digest
