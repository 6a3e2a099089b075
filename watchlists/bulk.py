"""Bulk import of watchlist entries from a CSV plus a ZIP of images, run as a Celery task.

A bad row is reported and skipped; the others go on. A failure of the whole file leaves nothing
imported: every row runs inside one transaction, each in its own savepoint.
"""

from __future__ import annotations

import csv
import io
import zipfile
from datetime import date

from celery import current_app
from django.core.cache import cache
from django.core.exceptions import PermissionDenied, ValidationError
from django.core.files.base import ContentFile
from django.db import transaction

from lfr_governance import clock
from lfr_governance.audit.models import Action
from lfr_governance.audit.services import record
from lfr_governance.files import atomic_with_files

from .choices import BULK_IMPORT_TASK, BulkImportStatus, ImageState
from lfr_governance.images import ImageRefused, image_check
from .models import BulkImport, Watchlist
from . import services

REQUIRED_COLUMNS = [
    "subject_ref", "category", "offence", "legal_basis", "image_source", "image_capture_date",
    "intelligence_ref", "justification", "image",
]
OPTIONAL_COLUMNS = ["subject_under_18", "under_18_rationale"]
_TRUE = {"yes", "y", "true", "1"}


def _progress_key(import_id: int) -> str:
    return f"watchlists:bulk_import:{import_id}:progress"


def bulk_import_progress(bulk: BulkImport) -> dict:
    """Live progress while the task runs (from Redis), else the stored totals."""
    live = cache.get(_progress_key(bulk.pk)) if bulk.status == BulkImportStatus.RUNNING else None
    processed = live["processed"] if live else bulk.processed_rows
    total = live["total"] if live else bulk.total_rows
    return {
        "status": bulk.status, "processed": processed, "total": total, "accepted": bulk.accepted_rows,
        "percent": int(100 * processed / total) if total else (100 if bulk.status == BulkImportStatus.DONE else 0),
        "error": bulk.error, "results": bulk.results if bulk.status in (BulkImportStatus.DONE, BulkImportStatus.FAILED) else [],
    }


def _read_csv(data: bytes) -> list[dict[str, str]]:
    try:
        text = data.decode("utf-8-sig")
    except UnicodeDecodeError:
        raise ValidationError({"csv_file": "The CSV is not UTF-8 text. Save it as 'CSV UTF-8' and upload it again."})
    reader = csv.DictReader(io.StringIO(text))
    missing = [c for c in REQUIRED_COLUMNS if c not in (reader.fieldnames or [])]
    if missing:
        raise ValidationError({"csv_file": f"The CSV lacks the column(s) {', '.join(missing)}. "
                                           f"The first row must name: {', '.join(REQUIRED_COLUMNS)}."})
    rows = list(reader)
    if not rows:
        raise ValidationError({"csv_file": "The CSV has a header but no rows."})
    return rows


def _open_zip(data: bytes) -> zipfile.ZipFile:
    try:
        archive = zipfile.ZipFile(io.BytesIO(data))
        bad = archive.testzip()
    except zipfile.BadZipFile:
        raise ValidationError({"zip_file": "The ZIP file is damaged or not a ZIP. Create it again and re-upload."})
    if bad:
        raise ValidationError({"zip_file": f"The ZIP file is damaged at {bad}. Create it again and re-upload."})
    return archive


@atomic_with_files
def bulk_import_start(*, actor, watchlist: Watchlist, csv_data: bytes, zip_data: bytes) -> BulkImport:
    services._require_build(actor, watchlist)
    rows = _read_csv(csv_data)
    _open_zip(zip_data)
    draft = services._draft_for_change(actor=actor, watchlist=watchlist)
    bulk = BulkImport(version=draft, created_by=actor, total_rows=len(rows))
    bulk.csv_file = ContentFile(csv_data, name="entries.csv")
    bulk.zip_file = ContentFile(zip_data, name="images.zip")
    bulk.save()
    record(action=Action.COLLECTION, event="watchlist.bulk_import_start", actor=actor, target=bulk,
           changes={"rows": len(rows), "watchlist": watchlist.pk})
    # By the task's name (watchlists/tasks.py imports this module, not the reverse).
    transaction.on_commit(lambda: current_app.send_task(BULK_IMPORT_TASK, args=[bulk.pk]))
    return bulk


def _row_fields(row: dict[str, str]) -> dict:
    try:
        capture = date.fromisoformat((row.get("image_capture_date") or "").strip())
    except ValueError:
        raise ValidationError({"image_capture_date": "Give the image capture date as YYYY-MM-DD."})
    return {
        "subject_ref": (row.get("subject_ref") or "").strip(),
        "category": (row.get("category") or "").strip(),
        "offence": (row.get("offence") or "").strip(),
        "legal_basis": (row.get("legal_basis") or "").strip(),
        "image_source": (row.get("image_source") or "").strip(),
        "image_capture_date": capture,
        "intelligence_ref": (row.get("intelligence_ref") or "").strip(),
        "justification": (row.get("justification") or "").strip(),
        "subject_under_18": (row.get("subject_under_18") or "").strip().lower() in _TRUE,
        "under_18_rationale": (row.get("under_18_rationale") or "").strip(),
    }


def _error_text(exc: Exception) -> str:
    if isinstance(exc, ValidationError):
        if hasattr(exc, "error_dict"):
            return "; ".join(f"{field}: {' '.join(m)}" for field, m in exc.message_dict.items())
        return " ".join(exc.messages)
    if isinstance(exc, ImageRefused):
        return exc.message
    return str(exc)


def bulk_import_run(*, import_id: int) -> None:
    bulk = BulkImport.objects.select_related("version__watchlist", "created_by").get(pk=import_id)
    if bulk.status not in (BulkImportStatus.QUEUED, BulkImportStatus.RUNNING):
        return  # already finished: a redelivered task does nothing
    BulkImport.objects.filter(pk=bulk.pk).update(status=BulkImportStatus.RUNNING)
    bulk.status = BulkImportStatus.RUNNING
    actor, watchlist = bulk.created_by, bulk.version.watchlist
    results: list[dict] = []
    try:
        with bulk.csv_file.open("rb") as fh:
            rows = _read_csv(fh.read())
        with bulk.zip_file.open("rb") as fh:
            archive = _open_zip(fh.read())
        names = {name.rsplit("/", 1)[-1]: name for name in archive.namelist() if not name.endswith("/")}
        with atomic_with_files():  # its image files go too if the whole file rolls back
            for number, row in enumerate(rows, start=2):  # row 1 is the header
                results.append(_import_row(actor, watchlist, archive, names, number, row))
                cache.set(_progress_key(bulk.pk), {"processed": len(results), "total": len(rows)}, 3600)
            accepted = sum(1 for r in results if r["accepted"])
            BulkImport.objects.filter(pk=bulk.pk).update(
                status=BulkImportStatus.DONE, processed_rows=len(results), accepted_rows=accepted, results=results,
                finished_at=clock.now(),
            )
            record(action=Action.COLLECTION, event="watchlist.bulk_import_finish", actor=actor, target=bulk,
                   changes={"rows": len(results), "accepted": accepted})
    except Exception as exc:  # the whole file failed: nothing from it stays
        BulkImport.objects.filter(pk=bulk.pk).update(
            status=BulkImportStatus.FAILED, processed_rows=len(results), accepted_rows=0, results=[],
            error=f"The import stopped and nothing from it was kept: {_error_text(exc)}", finished_at=clock.now(),
        )
        record(action=Action.ALTERATION, event="watchlist.bulk_import_fail", actor=actor, target=bulk,
               changes={"error": _error_text(exc)[:500]})
    finally:
        cache.delete(_progress_key(bulk.pk))


def _import_row(actor, watchlist, archive, names, number: int, row: dict[str, str]) -> dict:
    subject = (row.get("subject_ref") or "").strip()
    try:
        with atomic_with_files():  # a refused row takes its image file with it
            fields = _row_fields(row)
            image_name = (row.get("image") or "").strip()
            if image_name not in names:
                raise ValidationError({"image": f"{image_name or '(empty)'} is not in the ZIP file."})
            checked = image_check(archive.read(names[image_name]), filename=image_name)
            entry = services.entry_create(actor=actor, watchlist=watchlist, **fields)
            image = services._reference_image_store(actor=actor, entry=entry, checked=checked)
            image = services.reference_image_assess(image_id=image.pk)
            if image.state != ImageState.ACCEPTED:
                raise ImageRefused(image.refusal_reason, f"{image_name}: {image.refusal_message}")
    except (ValidationError, ImageRefused, PermissionDenied) as exc:
        return {"row": number, "subject_ref": subject, "accepted": False, "reason": _error_text(exc)}
    return {"row": number, "subject_ref": subject, "accepted": True, "reason": ""}
