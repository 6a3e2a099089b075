"""Bulk import from a CSV plus a ZIP: bad rows are reported and skipped, a bad file leaves nothing."""

import csv
import io
import zipfile

import pytest
from django.core.exceptions import ValidationError
from PIL import Image, ImageOps

from watchlists import bulk
from watchlists.choices import BulkImportStatus
from watchlists.models import BulkImport, ReferenceImage, WatchlistEntry

pytestmark = pytest.mark.django_db

MULTI_FACE = {"img31.jpg", "img41.jpg", "img54.jpg", "img59.jpg", "img62.jpg"}


def _images(faces_dir) -> dict[str, bytes]:
    """57 single-face photographs from the shared set, plus one mirrored copy: 58 good images."""
    folder = faces_dir / "deepface"
    names = [row["file"] for row in csv.DictReader((folder / "identities.csv").open())]
    names = [n for n in names if n not in MULTI_FACE] + ["img11_reflection.jpg"]
    images = {name: _as_jpeg_if_needed((folder / name).read_bytes()) for name in names}
    mirrored = io.BytesIO()
    ImageOps.mirror(Image.open(folder / "img1.jpg")).save(mirrored, "JPEG", quality=92)
    images["img1_mirrored.jpg"] = mirrored.getvalue()
    return images


def _as_jpeg_if_needed(data: bytes) -> bytes:
    # One shared file (img47.jpg) is really WEBP, which the service rightly refuses: convert it as a user would.
    image = Image.open(io.BytesIO(data))
    if image.format in ("JPEG", "PNG"):
        return data
    out = io.BytesIO()
    image.convert("RGB").save(out, "JPEG", quality=92)
    return out.getvalue()


def _files(images: dict[str, bytes], extra_rows: list[dict]) -> tuple[bytes, bytes]:
    rows = [
        {"subject_ref": f"PNC-{i:03d}", "category": "warrant", "offence": "", "legal_basis": "pace_custody",
         "image_source": "custody", "image_capture_date": "2024-06-01", "intelligence_ref": "INT/9",
         "justification": "Wanted on warrant; seen in the area.", "image": name}
        for i, name in enumerate(images)
    ] + extra_rows
    text = io.StringIO()
    writer = csv.DictWriter(text, fieldnames=list(rows[0]))
    writer.writeheader()
    writer.writerows(rows)
    archive = io.BytesIO()
    with zipfile.ZipFile(archive, "w") as zf:
        for name, data in images.items():
            zf.writestr(f"photos/{name}", data)
    return text.getvalue().encode(), archive.getvalue()


def test_sixty_rows_with_two_bad_gives_58_accepted_and_two_reasons(watchlist, people, faces_dir,
                                                                   django_capture_on_commit_callbacks):
    images = _images(faces_dir)
    assert len(images) == 58
    bad = [
        {"subject_ref": "PNC-BAD1", "category": "other persons of interest", "offence": "", "legal_basis": "pace_custody",
         "image_source": "custody", "image_capture_date": "2024-06-01", "intelligence_ref": "INT/9",
         "justification": "x", "image": "img2.jpg"},
        {"subject_ref": "PNC-BAD2", "category": "warrant", "offence": "", "legal_basis": "pace_custody",
         "image_source": "custody", "image_capture_date": "2024-06-01", "intelligence_ref": "INT/9",
         "justification": "Group photo only.", "image": "couple.jpg"},
    ]
    csv_data, zip_data = _files(images, bad)
    # couple.jpg (two faces of similar size: no clear subject) goes into the ZIP too, so the second bad row fails
    # the quality gate. (img54 would not: its three bystanders are far smaller than the subject, who is enrolled.)
    buffer = io.BytesIO(zip_data)
    with zipfile.ZipFile(buffer, "a") as zf:
        zf.writestr("photos/couple.jpg", (faces_dir / "deepface" / "couple.jpg").read_bytes())
    started = bulk.bulk_import_start(actor=people["owner"], watchlist=watchlist, csv_data=csv_data,
                                     zip_data=buffer.getvalue())
    assert started.total_rows == 60 and started.status == BulkImportStatus.QUEUED
    bulk.bulk_import_run(import_id=started.pk)  # the task body, run here; the worker path is tested elsewhere
    done = BulkImport.objects.get(pk=started.pk)
    progress = bulk.bulk_import_progress(done)
    assert done.status == BulkImportStatus.DONE and progress["percent"] == 100
    assert done.accepted_rows == 58 and len(done.results) == 60, [r for r in done.results if not r["accepted"]]
    refused = [r for r in done.results if not r["accepted"]]
    assert [r["subject_ref"] for r in refused] == ["PNC-BAD1", "PNC-BAD2"]
    assert "category" in refused[0]["reason"]
    assert "More than one face" in refused[1]["reason"] or "face" in refused[1]["reason"].lower()
    version = watchlist.versions.get(status="draft")
    assert version.entries.count() == 58
    assert ReferenceImage.objects.filter(entry__version=version, state="accepted").count() == 58
    assert not WatchlistEntry.objects.filter(subject_ref__startswith="PNC-BAD").exists()


def test_a_file_that_fails_whole_leaves_nothing(watchlist, people, faces_dir, monkeypatch):
    images = dict(list(_images(faces_dir).items())[:3])
    csv_data, zip_data = _files(images, [])
    started = bulk.bulk_import_start(actor=people["owner"], watchlist=watchlist, csv_data=csv_data, zip_data=zip_data)
    real = bulk._import_row
    calls = {"n": 0}

    def crash_on_third(*args, **kwargs):
        calls["n"] += 1
        if calls["n"] == 3:
            raise RuntimeError("disk full")
        return real(*args, **kwargs)

    monkeypatch.setattr(bulk, "_import_row", crash_on_third)
    bulk.bulk_import_run(import_id=started.pk)
    failed = BulkImport.objects.get(pk=started.pk)
    assert failed.status == BulkImportStatus.FAILED and "nothing from it was kept" in failed.error
    assert not WatchlistEntry.objects.filter(version__watchlist=watchlist).exists()
    assert not ReferenceImage.objects.exists()
    from django.core.files.storage import default_storage

    _, files = default_storage.listdir(f"watchlists/{watchlist.versions.get().pk}") if default_storage.exists(
        f"watchlists/{watchlist.versions.get().pk}") else ([], [])
    assert files == []


@pytest.mark.parametrize(
    "csv_data, zip_ok, field, words",
    [
        (b"subject_ref,category\nA,warrant\n", True, "csv_file", "lacks the column"),
        (b"\xff\xfe\x00bad", True, "csv_file", "UTF-8"),
        (None, False, "zip_file", "damaged or not a ZIP"),
    ],
)
def test_bad_files_are_refused_before_queueing(watchlist, people, faces_dir, csv_data, zip_ok, field, words):
    good_csv, good_zip = _files(dict(list(_images(faces_dir).items())[:1]), [])
    with pytest.raises(ValidationError) as exc:
        bulk.bulk_import_start(actor=people["owner"], watchlist=watchlist, csv_data=csv_data or good_csv,
                               zip_data=good_zip if zip_ok else b"not a zip")
    assert words in " ".join(exc.value.message_dict[field])
    assert not BulkImport.objects.exists()
