"""The proof of deletion: looks everywhere a non-match face could have left a trace, and lists what it finds.

Places: every text, JSON and binary column of every table in the database; the media folder (only
files that alerts, watchlist images, signage photos or watchlist imports reference may be there); the
temporary folder (no image, array or lfr-named file written while the deployment ran); and Redis (no
frame payload left after processing or its TTL, and no persistence to disk). Frame ids and markers
(strings an edge node or a test put inside its frames) of frames that made no alert may appear nowhere.
"""

from __future__ import annotations

import os
import re
import tempfile
import time
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from pathlib import Path

from django.conf import settings
from django.db import connection, models

from deployments.models import Deployment
from lfr_governance import clock
from lfr_governance.files import media_file_models, media_referenced
from matching import frames, tracks
from matching.models import Alert, Sighting
from watchlists.models import ReferenceImage

# Base64 openings of encoded images (JFIF, Exif and bare JPEG; PNG) and data URLs in text columns.
IMAGE_TEXT_SIGNATURES = ("/9j/4AAQSkZJRg", "/9j/4QA", "/9j/2wBD", "iVBORw0KGgo", "data:image/")
IMAGE_MAGIC = (b"\xff\xd8\xff", b"\x89PNG", b"RIFF", b"\x93NUMPY")
ALLOWED_BINARY_COLUMNS = {("watchlists_referenceimage", "template")}  # watchlist templates, until destroyed
TEMPLATE_SIZES = {128 * 4, 512 * 4}  # float32 templates of the shipped packs
# Media a model may reference: alerts' probe crops and watchlist, signage and import files.
MEDIA_OWNERS = {"matching.alert", "watchlists.referenceimage", "watchlists.bulkimport", "deployments.signagerecord"}
TEMP_SKIP = re.compile(r"^(pytest-of-|playwright|\.org\.chromium|systemd-private-|snap-private|bash_jobs|\.X11)")
# Names Python's tempfile gives (tmp + 8 characters): what this project's code would make if it ever spilled a
# frame. Other programs' files in a shared temporary folder are not attributed to it; markers are found anywhere.
TEMPFILE_NAME = re.compile(r"^tmp[a-z0-9_]{8}")
TEMP_MAX_FILES = 50_000
TEMP_MAX_DEPTH = 4
SCAN_BYTES = 1 << 20


@dataclass
class Residue:
    findings: list[str] = field(default_factory=list)
    checked: list[str] = field(default_factory=list)
    notes: list[str] = field(default_factory=list)

    @property
    def clean(self) -> bool:
        return not self.findings


def residue_find(*, deployment: Deployment | None = None, frame_ids=(), markers=(),
                 since: datetime | None = None) -> Residue:
    report = Residue()
    # Frames that showed an alerted person: the one that confirmed an alert, and its sightings.
    alert_frames = set(Alert.objects.filter(frame_id__in=list(frame_ids)).values_list("frame_id", flat=True))
    alert_frames |= set(Sighting.objects.filter(frame_id__in=list(frame_ids)).values_list("frame_id", flat=True))
    non_alert_ids = sorted(set(frame_ids) - alert_frames)
    markers = [m for m in markers if m]
    if since is None:
        start = (deployment.went_live_at or deployment.starts_at) if deployment else None
        since = (start or clock.now() - timedelta(hours=24)) - timedelta(minutes=1)
    _database(report, non_alert_ids, markers)
    _alerts(report, deployment)
    _media(report, non_alert_ids, markers)
    _temp(report, markers, since)
    _redis(report, deployment, markers)
    return report


# --- Database ---------------------------------------------------------------------------------


def _like(value: str) -> str:
    return "%" + value.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_") + "%"


def _database(report: Residue, frame_ids: list[str], markers: list[str]) -> None:
    with connection.cursor() as cursor:
        cursor.execute(
            "SELECT table_name, column_name, data_type FROM information_schema.columns "
            "WHERE table_schema = current_schema() AND data_type IN "
            "('text', 'character varying', 'character', 'json', 'jsonb', 'bytea') ORDER BY table_name, column_name"
        )
        columns = cursor.fetchall()
        text_patterns = [_like(s) for s in (*IMAGE_TEXT_SIGNATURES, *frame_ids, *markers)]
        tables = set()
        for table, column, data_type in columns:
            tables.add(table)
            qt, qc = connection.ops.quote_name(table), connection.ops.quote_name(column)
            if data_type == "bytea":
                _database_binary(report, cursor, table, column, qt, qc, markers)
                continue
            if not text_patterns:
                continue
            cursor.execute(f"SELECT {qc}::text FROM {qt} WHERE {qc}::text LIKE ANY(%s) LIMIT 20", [text_patterns])
            for (value,) in cursor.fetchall():
                hits = [s for s in (*IMAGE_TEXT_SIGNATURES, *frame_ids, *markers) if s in value]
                report.findings.append(f"database: {table}.{column} holds {', '.join(repr(h) for h in hits)}")
    report.checked.append(f"database: {len(columns)} text, JSON and binary columns in {len(tables)} tables")


def _database_binary(report: Residue, cursor, table: str, column: str, qt: str, qc: str, markers: list[str]) -> None:
    cursor.execute(f"SELECT count(*) FROM {qt} WHERE substring({qc} from 1 for 6) LIKE ANY(%s)",
                   [[m + b"%" for m in IMAGE_MAGIC]])
    if cursor.fetchone()[0]:
        report.findings.append(f"database: {table}.{column} holds encoded images or arrays")
    if (table, column) not in ALLOWED_BINARY_COLUMNS:
        cursor.execute(f"SELECT count(*) FROM {qt} WHERE octet_length({qc}) = ANY(%s)", [sorted(TEMPLATE_SIZES)])
        count = cursor.fetchone()[0]
        if count:
            report.findings.append(f"database: {table}.{column} holds {count} value(s) the size of a face template")
    for marker in markers:
        cursor.execute(f"SELECT count(*) FROM {qt} WHERE position(%s::bytea in {qc}) > 0", [marker.encode()])
        if cursor.fetchone()[0]:
            report.findings.append(f"database: {table}.{column} holds marker {marker!r}")


def _alerts(report: Residue, deployment: Deployment | None) -> None:
    """Every alert is a match at or above its threshold with its probe crop present: nothing below it is kept."""
    alerts = Alert.objects.all() if deployment is None else Alert.objects.filter(deployment=deployment)
    below = alerts.filter(score__lt=models.F("threshold")).count()
    if below:
        report.findings.append(f"database: {below} alert(s) below their threshold (non-match data kept)")
    stray_templates = ReferenceImage.objects.exclude(state="accepted").filter(template__isnull=False).count()
    if stray_templates:
        report.findings.append(f"database: {stray_templates} template(s) of images refused at enrolment")
    missing = [a.pk for a in alerts.only("pk", "probe_image") if not a.probe_image.storage.exists(a.probe_image.name)]
    if missing:
        report.notes.append(f"alerts without their probe crop file: {missing[:20]}")
    report.checked.append(f"alerts: {alerts.count()} checked against their thresholds")


# --- Media ------------------------------------------------------------------------------------


def _media(report: Residue, frame_ids: list[str], markers: list[str]) -> None:
    """Every file must be named by a row (the same rule the retention purge erases orphans by: lfr_governance.files)."""
    root = Path(settings.MEDIA_ROOT)
    referenced = media_referenced()
    others = [model._meta.label_lower for model, _ in media_file_models() if model._meta.label_lower not in MEDIA_OWNERS]
    if others:
        report.notes.append(f"other models keep media files (allowed, not biometric by design): {', '.join(others)}")
    count = 0
    needles = [m.encode() for m in markers]
    for path in sorted(root.rglob("*")) if root.exists() else []:
        if not path.is_file():
            continue
        count += 1
        name = path.relative_to(root).as_posix()
        if name not in referenced:
            report.findings.append(f"media: {name} ({path.stat().st_size:,} bytes) is referenced by no alert, "
                                   "watchlist image, signage photo or import (the retention purge erases it "
                                   f"once it is {settings.LFR_ORPHAN_FILE_GRACE_MINUTES} minutes old)")
        if any(fid in name for fid in frame_ids):
            report.findings.append(f"media: {name} is named after a frame that made no alert")
        if needles:
            with path.open("rb") as fh:
                head = fh.read(SCAN_BYTES)
            for needle in needles:
                if needle in head:
                    report.findings.append(f"media: {name} holds marker {needle.decode()!r}")
    report.checked.append(f"media: {count} file(s) under {root}")


# --- Temporary folder -------------------------------------------------------------------------


def _temp(report: Residue, markers: list[str], since: datetime) -> None:
    root = Path(tempfile.gettempdir())
    cutoff = since.timestamp()
    needles = [m.encode() for m in markers]
    scanned = 0

    def walk(folder: Path, depth: int) -> None:
        nonlocal scanned
        try:
            entries = list(os.scandir(folder))
        except OSError:
            return
        for entry in entries:
            if scanned >= TEMP_MAX_FILES:
                return
            if depth == 0 and TEMP_SKIP.match(entry.name):
                continue
            try:
                if entry.is_symlink():
                    continue
                if entry.is_dir():
                    if depth < TEMP_MAX_DEPTH:
                        walk(Path(entry.path), depth + 1)
                    continue
                stat = entry.stat()
            except OSError:
                continue
            scanned += 1
            if stat.st_mtime < cutoff:
                continue
            problem = _temp_problem(Path(entry.path), root, needles)
            if problem:
                report.findings.append(f"temp: {entry.path} ({stat.st_size:,} bytes, written "
                                       f"{time.strftime('%H:%M:%S', time.localtime(stat.st_mtime))}) {problem}")

    walk(root, 0)
    report.checked.append(f"temp: {scanned} file(s) under {root} (those written since {since:%Y-%m-%d %H:%M} "
                          "examined)")


def _temp_problem(path: Path, root: Path, needles: list[bytes]) -> str:
    if path.name.lower().startswith("lfr"):
        return "is named like one of this project's files"
    try:
        with path.open("rb") as fh:
            head = fh.read(SCAN_BYTES)
    except OSError:
        return ""
    for needle in needles:
        if needle in head:
            return f"holds marker {needle.decode()!r}"
    made_by_tempfile = any(TEMPFILE_NAME.match(part) for part in path.relative_to(root).parts)
    if made_by_tempfile and head.startswith(IMAGE_MAGIC) and (not head.startswith(b"RIFF") or head[8:12] == b"WEBP"):
        return "is an image or array in a temporary file"
    return ""


# --- Redis ------------------------------------------------------------------------------------


def _redis(report: Residue, deployment: Deployment | None, markers: list[str]) -> None:
    client = frames.client()
    for key, ttl in frames.payload_keys(deployment.pk if deployment else None):
        report.findings.append(f"redis: frame payload {key} is still held (expires in {ttl} s)")
    # Open tracks end (and their templates go) at most a track's gap plus a second after their camera's last
    # frame: wait that long for them, then report any still held (a camera still sending, or a leak).
    deadline = time.monotonic() + tracks.ttl_milliseconds() / 1000.0 + 0.5
    held = tracks.track_keys(deployment.pk if deployment else None)
    while held and time.monotonic() < deadline:
        time.sleep(0.1)
        held = tracks.track_keys(deployment.pk if deployment else None)
    for key, ttl_ms in held:
        report.findings.append(f"redis: open tracks {key} are still held (templates; expire in {ttl_ms} ms)")
    try:
        save = client.config_get("save").get("save", "")
        appendonly = client.config_get("appendonly").get("appendonly", "no")
        if save or appendonly != "no":
            report.findings.append(f"redis: persistence is on (save={save!r}, appendonly={appendonly}): queued "
                                   "frames could reach its disk")
    except Exception:
        report.notes.append("redis: CONFIG is not available, so persistence could not be checked")
    needles = [m.encode() for m in markers]
    scanned = 0
    if needles:
        for key in client.scan_iter(count=1000):
            scanned += 1
            if client.type(key) != b"string":
                continue
            value = client.get(key) or b""
            for needle in needles:
                if needle in value:
                    report.findings.append(f"redis: {key.decode(errors='replace')} holds marker {needle.decode()!r}")
    report.checked.append(f"redis: frame payload and open-track keys{f', {scanned} keys searched for markers' if scanned else ''}")
