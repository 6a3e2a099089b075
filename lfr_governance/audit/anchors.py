"""The audit chain's anchors outside the database: the key that signs checkpoints, and the files they are exported to.

A database superuser can rewrite the audit table and recompute its hashes; they cannot sign a checkpoint, because
the key is held by the application (LFR_AUDIT_ANCHOR_KEY, or the key file) and never reaches the database, and they
cannot reach the exported files, which live on the application's side (LFR_AUDIT_ANCHOR_DIR).
"""

from __future__ import annotations

import hashlib
import hmac
import json
import logging
import os
import re
import secrets
from datetime import timezone as dt_timezone
from pathlib import Path
from typing import Any

from django.conf import settings
from django.db import connection

log = logging.getLogger(__name__)

KEY_MIN_CHARS = 32
KEY_ADVICE = "e.g. from `python -c 'import secrets; print(secrets.token_hex(32))'`"
# The fields a checkpoint's signature covers, in the order they are exported.
SIGNED_FIELDS = ("id", "created_at", "last_event_id", "last_hash", "row_count", "prev_mac", "key_id")


class AnchorKeyError(RuntimeError):
    pass


def anchor_key() -> bytes:
    """The signing key: LFR_AUDIT_ANCHOR_KEY, else the key file (created, 0600, where LFR_AUDIT_ANCHOR_KEY_CREATE)."""
    if settings.LFR_AUDIT_ANCHOR_KEY:
        if len(settings.LFR_AUDIT_ANCHOR_KEY) < KEY_MIN_CHARS:
            raise AnchorKeyError(f"LFR_AUDIT_ANCHOR_KEY is shorter than {KEY_MIN_CHARS} characters: set it to a long "
                                 f"random value, {KEY_ADVICE}.")
        return settings.LFR_AUDIT_ANCHOR_KEY.encode()
    path = Path(settings.LFR_AUDIT_ANCHOR_KEY_FILE)
    if not path.exists():
        if not settings.LFR_AUDIT_ANCHOR_KEY_CREATE:
            raise AnchorKeyError(f"No audit anchor key: set LFR_AUDIT_ANCHOR_KEY ({KEY_ADVICE}), or put the key in "
                                 f"{path} (LFR_AUDIT_ANCHOR_KEY_FILE).")
        _key_file_create(path)
    if path.stat().st_mode & 0o077:
        log.warning("the audit anchor key file %s can be read by other users: chmod 600 it", path)
    key = path.read_text().strip()
    if len(key) < KEY_MIN_CHARS:
        raise AnchorKeyError(f"The audit anchor key in {path} is shorter than {KEY_MIN_CHARS} characters: replace it "
                             f"with a long random value, {KEY_ADVICE}.")
    return key.encode()


def _key_file_create(path: Path) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    draft = path.with_name(f".{path.name}.{os.getpid()}.draft")
    fd = os.open(draft, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    try:
        os.write(fd, f"{secrets.token_hex(32)}\n".encode())
        os.fsync(fd)
    finally:
        os.close(fd)
    try:
        os.link(draft, path)  # atomic: when web and worker start together, the first key written is the key
        log.warning("created the audit anchor key %s: keep a copy, checkpoints cannot be checked without it", path)
    except FileExistsError:
        pass
    finally:
        draft.unlink()


def key_id(key: bytes) -> str:
    """A fingerprint that names the key in each checkpoint, so a changed key is told apart from a forgery."""
    return hashlib.sha256(b"lfr audit anchor key id\x00" + key).hexdigest()[:16]


def checkpoint_mac(key: bytes, record: dict[str, Any]) -> str:
    message = json.dumps({f: record.get(f) for f in SIGNED_FIELDS}, sort_keys=True, separators=(",", ":"))
    return hmac.new(key, message.encode(), hashlib.sha256).hexdigest()


def checkpoint_signed(key: bytes, record: dict[str, Any]) -> bool:
    return hmac.compare_digest(checkpoint_mac(key, record), str(record.get("mac", "")))


def checkpoint_record(checkpoint) -> dict[str, Any]:
    """An AuditCheckpoint as it is signed, exported and compared: the same dict from the table and from the file."""
    return {
        "id": checkpoint.pk,
        "created_at": checkpoint.created_at.astimezone(dt_timezone.utc).isoformat(timespec="microseconds"),
        "last_event_id": checkpoint.last_event_id, "last_hash": checkpoint.last_hash,
        "row_count": checkpoint.row_count, "prev_mac": checkpoint.prev_mac, "key_id": checkpoint.key_id,
        "mac": checkpoint.mac,
    }


def _database_label() -> str:
    # One log per database: the files of a test database or another server's log never mix with this one's.
    return re.sub(r"[^A-Za-z0-9_]", "_", str(connection.settings_dict["NAME"]))


def export_dir() -> Path:
    return Path(settings.LFR_AUDIT_ANCHOR_DIR)


def export_append(record: dict[str, Any]) -> None:
    """Appends one checkpoint to this month's file, on disk before it returns."""
    folder = export_dir()
    folder.mkdir(parents=True, exist_ok=True)
    path = folder / f"{_database_label()}-{record['created_at'][:7]}.jsonl"
    line = json.dumps(record, sort_keys=True, separators=(",", ":")) + "\n"
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_APPEND, 0o640)
    try:
        os.write(fd, line.encode())
        os.fsync(fd)
    finally:
        os.close(fd)


def exported_read() -> tuple[dict[int, dict[str, Any]], list[str]]:
    """Every exported checkpoint of this database by id, and what in the files is not a checkpoint."""
    found: dict[int, dict[str, Any]] = {}
    problems: list[str] = []
    folder = export_dir()
    if not folder.is_dir():
        return found, problems
    name = re.compile(rf"{re.escape(_database_label())}-\d{{4}}-\d{{2}}\.jsonl")
    for path in sorted(p for p in folder.iterdir() if name.fullmatch(p.name)):
        for number, line in enumerate(path.read_text(encoding="utf-8", errors="replace").splitlines(), 1):
            if not line.strip():
                continue
            try:
                record = json.loads(line)
                cp_id = int(record["id"])
            except (ValueError, TypeError, KeyError):
                problems.append(f"line {number} of the exported file {path} is not a checkpoint: the file was altered")
                continue
            if cp_id in found and found[cp_id] != record:
                problems.append(f"checkpoint {cp_id} appears twice, differently, in the exported files: altered")
            found.setdefault(cp_id, record)
    return found, problems
