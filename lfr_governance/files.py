"""Media files and the rows that reference them: a file lives only as long as a row names it.

- `atomic_with_files`: a transaction (decorator or context manager) that deletes the files saved inside it when
  it rolls back. Django has no on-rollback hook, so the files each model save writes are noted (a pre_save
  receiver, active only inside such a block) and removed when the block raises. Every service that writes
  files uses it instead of `transaction.atomic`: watchlist images and their draft copies, bulk imports, sign
  photos, alert probe crops.
- `media_referenced` / `media_unreferenced`: which files under MEDIA_ROOT no row of any model's file field
  names. The proof of deletion (tools/residue.py) reports them; the retention purge erases those older than
  LFR_ORPHAN_FILE_GRACE_MINUTES (a file that young may belong to a transaction still open), which also covers
  a service block that committed inside an outer transaction that later rolled back.

No app is imported: models are found through the app registry.
"""

from __future__ import annotations

import contextlib
import functools
from contextvars import ContextVar
from dataclasses import dataclass
from datetime import datetime, timezone as dt_timezone
from pathlib import Path

from django.apps import apps
from django.conf import settings
from django.core.files.storage import default_storage
from django.db import models, transaction
from django.db.models.signals import pre_save

# The files noted by each open atomic_with_files block, innermost last.
_open_blocks: ContextVar[tuple[list, ...]] = ContextVar("lfr_files_open_blocks", default=())


def _note_files_written(sender, instance, raw=False, **kwargs) -> None:
    blocks = _open_blocks.get()
    if not blocks or raw:
        return
    for field in instance._meta.concrete_fields:
        if isinstance(field, models.FileField):
            file = getattr(instance, field.attname)
            if file and not file._committed:  # about to be written by this save
                blocks[-1].append(file)


pre_save.connect(_note_files_written, dispatch_uid="lfr_governance.files.note_files_written")


def _delete_written(files: list) -> None:
    for file in files:
        if file._committed and file.name:  # written (a save that failed before writing left nothing)
            file.storage.delete(file.name)


@contextlib.contextmanager
def _atomic_with_files(using=None, savepoint=True, durable=False):
    files: list = []
    token = _open_blocks.set((*_open_blocks.get(), files))
    try:
        with transaction.atomic(using=using, savepoint=savepoint, durable=durable):
            yield
    except BaseException:
        _delete_written(files)
        raise
    finally:
        _open_blocks.reset(token)
    outer = _open_blocks.get()
    if outer:  # committed only as far as the enclosing block: it removes them if it rolls back
        outer[-1].extend(files)


def atomic_with_files(func=None, *, using=None, savepoint=True, durable=False):
    """`transaction.atomic` that also deletes the files saved inside the block when it rolls back."""
    if callable(func):
        @functools.wraps(func)
        def wrapper(*args, **kwargs):
            with _atomic_with_files(using, savepoint, durable):
                return func(*args, **kwargs)

        return wrapper
    return _atomic_with_files(using, savepoint, durable)


def delete_on_commit(names: list[str]) -> None:
    """Deletes these stored files once the transaction commits (their rows go in it)."""
    names = [name for name in names if name]

    def delete() -> None:
        for name in names:
            default_storage.delete(name)

    transaction.on_commit(delete)


# --- Files no row references -------------------------------------------------------------------


@dataclass(frozen=True)
class MediaFile:
    name: str  # relative to MEDIA_ROOT, as a file field stores it
    size: int
    modified: datetime


def media_file_models() -> list[tuple[type[models.Model], list[str]]]:
    """Every model with a file field, and the names of those fields."""
    found = []
    for model in apps.get_models():
        names = [f.name for f in model._meta.get_fields() if isinstance(f, models.FileField)]
        if names:
            found.append((model, names))
    return found


def media_referenced() -> set[str]:
    """Every file name some row's file field holds."""
    referenced: set[str] = set()
    for model, names in media_file_models():
        for name in names:
            referenced.update(n for n in model._default_manager.exclude(**{name: ""}).values_list(name, flat=True) if n)
    return referenced


def media_is_referenced(name: str) -> bool:
    """Whether some row's file field holds this name now (the last check before a file is erased)."""
    return any(model._default_manager.filter(**{field: name}).exists()
               for model, fields in media_file_models() for field in fields)


def media_files() -> list[MediaFile]:
    root = Path(settings.MEDIA_ROOT)
    found = []
    for path in sorted(root.rglob("*")) if root.exists() else []:
        try:
            if not path.is_file() or path.is_symlink():
                continue
            stat = path.stat()
        except OSError:  # gone meanwhile
            continue
        found.append(MediaFile(path.relative_to(root).as_posix(), stat.st_size,
                               datetime.fromtimestamp(stat.st_mtime, dt_timezone.utc)))
    return found


def media_unreferenced(*, written_before: datetime | None = None) -> list[MediaFile]:
    """Files under MEDIA_ROOT no row references (listed before the rows are read, so a file whose row commits
    meanwhile is seen as referenced); only those last written before `written_before` when it is given."""
    files = [f for f in media_files() if written_before is None or f.modified < written_before]
    referenced = media_referenced()
    return [f for f in files if f.name not in referenced]
