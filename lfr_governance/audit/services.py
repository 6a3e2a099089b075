"""Writes audit rows and checkpoints, and verifies them. Call `record` inside the same transaction as the change it
describes."""

import hashlib
import json
from dataclasses import dataclass
from datetime import timezone as dt_timezone
from functools import partial
from typing import Any

from django.core.serializers.json import DjangoJSONEncoder
from django.db import connection, models, transaction

from lfr_governance import clock
from lfr_governance.request_context import client_ip_var, request_id_var

from . import anchors
from .models import ACTIONS_NEEDING_JUSTIFICATION, Action, AuditCheckpoint, AuditEvent

GENESIS_HASH = "0" * 64
# One advisory lock serialises chain appends; it is held until the surrounding transaction ends.
_CHAIN_LOCK_KEY = 0x1F7A_0D17


class AuditError(ValueError):
    pass


def _normalise(value: Any) -> Any:
    return json.loads(json.dumps(value, cls=DjangoJSONEncoder))


def _row_digest(fields: dict[str, Any]) -> str:
    canonical = json.dumps(fields, sort_keys=True, separators=(",", ":"), ensure_ascii=False)
    return hashlib.sha256(canonical.encode("utf-8")).hexdigest()


def _hashed_fields(event: AuditEvent) -> dict[str, Any]:
    return {
        "id": event.pk,
        "occurred_at": event.occurred_at.astimezone(dt_timezone.utc).isoformat(timespec="microseconds"),
        "actor_id": event.actor_id,
        "actor_label": event.actor_label,
        "edge_node_ref": event.edge_node_ref,
        "action": event.action,
        "event": event.event,
        "target_type": event.target_type,
        "target_id": event.target_id,
        "deployment_id": event.deployment_id,
        "subject_ref": event.subject_ref,
        "justification": event.justification,
        "changes": event.changes,
        "request_id": event.request_id,
        "ip": event.ip,
        "prev_hash": event.prev_hash,
    }


def event_hash(event: AuditEvent) -> str:
    return _row_digest(_hashed_fields(event))


def _actor_label(actor) -> str:
    if actor is None:
        return ""
    full_name = actor.get_full_name() if hasattr(actor, "get_full_name") else ""
    return f"{actor.get_username()} ({full_name})" if full_name else actor.get_username()


_NEXT_ID_AND_LAST_HASH_SQL = (
    "SELECT nextval(pg_get_serial_sequence(%s, 'id')), "
    f"(SELECT hash FROM {AuditEvent._meta.db_table} ORDER BY id DESC LIMIT 1)"
)


def record(
    *,
    action: str,
    event: str,
    actor=None,
    actor_label: str = "",
    edge_node_ref: str = "",
    target: models.Model | None = None,
    target_type: str = "",
    target_id: str | int = "",
    deployment_id: int | None = None,
    subject_ref: str = "",
    justification: str = "",
    changes: dict[str, Any] | None = None,
) -> AuditEvent:
    """Appends one audit row to the chain.

    `actor` is the user who acted (None for the system or an edge node: then give `actor_label`
    such as "purge job" or `edge_node_ref`). Erasure rows name the record, never its content.
    """
    action = Action(action)
    if action in ACTIONS_NEEDING_JUSTIFICATION and not justification.strip():
        raise AuditError(f"A {action.label.lower()} must record its justification.")
    if actor is not None and not getattr(actor, "is_authenticated", False):
        actor = None
    if target is not None:
        target_type = target_type or target._meta.label_lower
        target_id = target_id or target.pk
    label = actor_label or _actor_label(actor) or (f"edge node {edge_node_ref}" if edge_node_ref else "system")
    with transaction.atomic():
        with connection.cursor() as cursor:
            cursor.execute("SELECT pg_advisory_xact_lock(%s)", [_CHAIN_LOCK_KEY])
            # The id is part of the hash and the table refuses UPDATE, so take the id before inserting; the
            # last hash is read in the same statement, after the lock (each statement sees what committed before it).
            cursor.execute(_NEXT_ID_AND_LAST_HASH_SQL, [AuditEvent._meta.db_table])
            new_id, last_hash = cursor.fetchone()
        last_hash = last_hash or GENESIS_HASH
        row = AuditEvent(
            id=new_id,
            occurred_at=clock.now(),
            actor=actor,
            actor_label=label[:200],
            edge_node_ref=edge_node_ref,
            action=action.value,
            event=event,
            target_type=target_type,
            target_id=str(target_id) if target_id != "" else "",
            deployment_id=deployment_id,
            subject_ref=subject_ref,
            justification=justification,
            changes=_normalise(changes or {}),
            request_id=request_id_var.get() if request_id_var.get() != "-" else "",
            ip=client_ip_var.get(),
            prev_hash=last_hash,
        )
        row.hash = event_hash(row)
        row.save(force_insert=True)
        return row


@dataclass(frozen=True)
class ChainVerification:
    ok: bool
    checked: int
    broken_id: int | None = None
    reason: str = ""


def _chain_problem(row: AuditEvent, expected_prev: str) -> str:
    if row.prev_hash != expected_prev:
        return f"row {row.pk} does not follow the row before it (a row before it was changed or deleted)"
    if event_hash(row) != row.hash:
        return f"row {row.pk} was changed after it was written"
    return ""


def audit_chain_verify() -> ChainVerification:
    """Recomputes every row's hash in order; names the first row that does not fit the chain."""
    expected_prev = GENESIS_HASH
    checked = 0
    for row in AuditEvent.objects.order_by("id").iterator(chunk_size=2000):
        if problem := _chain_problem(row, expected_prev):
            return ChainVerification(False, checked, row.pk, problem)
        expected_prev = row.hash
        checked += 1
    return ChainVerification(True, checked)


_NEXT_CHECKPOINT_ID_SQL = "SELECT nextval(pg_get_serial_sequence(%s, 'id'))"


def audit_checkpoint_create() -> AuditCheckpoint | None:
    """Signs the chain's head: a checkpoint row and, once it commits, a line in the exported file.

    None when no row was appended since the last checkpoint, or when a transaction that appends holds the chain
    (a long import): the next round signs. Refuses (AuditError) to sign a log that no longer fits its last
    checkpoint, so a tampered log is never signed over: `audit_verify` then says what changed.
    """
    key = anchors.anchor_key()
    with transaction.atomic():
        with connection.cursor() as cursor:
            # The chain lock: no row is appended while the head is read, and checkpoints are made one at a time.
            # Tried, not waited for: a worker never sits behind a long transaction.
            cursor.execute("SELECT pg_try_advisory_xact_lock(%s)", [_CHAIN_LOCK_KEY])
            if not cursor.fetchone()[0]:
                return None
        last = AuditCheckpoint.objects.order_by("-id").first()
        expected_prev, count, after_id = GENESIS_HASH, 0, 0
        if last is not None:
            if not anchors.checkpoint_signed(key, anchors.checkpoint_record(last)):
                raise AuditError(f"checkpoint {last.pk} does not carry a valid signature; not signing over it "
                                 "(run audit_verify)")
            anchored = AuditEvent.objects.filter(pk=last.last_event_id).values_list("hash", flat=True).first()
            if anchored != last.last_hash:
                raise AuditError(f"row {last.last_event_id} no longer fits checkpoint {last.pk}; not signing "
                                 "(run audit_verify)")
            expected_prev, count, after_id = last.last_hash, last.row_count, last.last_event_id
        head = None
        for row in AuditEvent.objects.filter(pk__gt=after_id).order_by("id").iterator(chunk_size=2000):
            if problem := _chain_problem(row, expected_prev):
                raise AuditError(f"{problem}; not signing (run audit_verify)")
            expected_prev, count, head = row.hash, count + 1, row
        if head is None:
            return None
        with connection.cursor() as cursor:
            cursor.execute(_NEXT_CHECKPOINT_ID_SQL, [AuditCheckpoint._meta.db_table])
            (new_id,) = cursor.fetchone()
        checkpoint = AuditCheckpoint(
            id=new_id, created_at=clock.now(), last_event_id=head.pk, last_hash=head.hash, row_count=count,
            prev_mac=last.mac if last else GENESIS_HASH, key_id=anchors.key_id(key),
        )
        checkpoint.mac = anchors.checkpoint_mac(key, anchors.checkpoint_record(checkpoint))
        checkpoint.save(force_insert=True)
        transaction.on_commit(partial(anchors.export_append, anchors.checkpoint_record(checkpoint)))
    return checkpoint


@dataclass(frozen=True)
class AnchorVerification:
    ok: bool
    checkpoints: int = 0  # signed checkpoints found (table and exported file)
    latest: dict[str, Any] | None = None  # the newest of them, as checkpoint_record gives it
    unanchored: int = 0  # rows after the newest checkpoint, not yet covered by one
    problems: tuple[str, ...] = ()

    @property
    def reason(self) -> str:
        return "; ".join(self.problems)


def audit_anchor_verify() -> AnchorVerification:
    """Checks every checkpoint's signature, the table against the exported file, and the log against them all.

    Finds a truncated log (rows missing up to a checkpoint, or the newest row below it), a rewritten one (a
    checkpointed hash that no longer matches its row, even with the chain recomputed), and a forged or deleted
    checkpoint (signature wrong, a gap in the checkpoints' own chain, or the table and the file disagree).
    """
    table = list(AuditCheckpoint.objects.order_by("id"))
    exported, problems = anchors.exported_read()
    if not table and not exported and not problems:
        return AnchorVerification(True, unanchored=AuditEvent.objects.count())
    try:
        key = anchors.anchor_key()
    except anchors.AnchorKeyError as exc:
        return AnchorVerification(False, problems=(f"the checkpoints cannot be checked: {exc}",))
    this_key = anchors.key_id(key)

    def forged(where: str, record: dict[str, Any]) -> str:
        note = "" if record.get("key_id") == this_key else (
            f" (signed with key {record.get('key_id')}, this server holds key {this_key}: if the key was changed, "
            "restore the old one)")
        return f"checkpoint {record.get('id')} in the {where} does not carry a valid signature: forged or altered{note}"

    authentic: dict[int, dict[str, Any]] = {}
    in_table: dict[int, dict[str, Any]] = {}
    previous = None
    for checkpoint in table:
        record = in_table[checkpoint.pk] = anchors.checkpoint_record(checkpoint)
        if anchors.checkpoint_signed(key, record):
            authentic[checkpoint.pk] = record
        else:
            problems.append(forged("table", record))
        if checkpoint.prev_mac != (previous.mac if previous else GENESIS_HASH):
            problems.append(
                f"checkpoint {checkpoint.pk} does not follow checkpoint {previous.pk}: one between them was deleted "
                f"from the table, or checkpoint {previous.pk} was altered" if previous else
                f"checkpoint {checkpoint.pk} is not the first checkpoint: those before it were deleted from the table")
        previous = checkpoint
    for cp_id, record in sorted(exported.items()):
        if not anchors.checkpoint_signed(key, record):
            problems.append(forged("exported file", record))
            continue
        if cp_id not in in_table:
            problems.append(f"checkpoint {cp_id} (row {record['last_event_id']}, {record['created_at']}) is in the "
                            "exported file but not in the table: deleted from the database")
        elif cp_id in authentic and authentic[cp_id] != record:
            problems.append(f"checkpoint {cp_id} differs between the table and the exported file")
        authentic.setdefault(cp_id, record)
    if exported and not table:
        problems.append(f"the table holds no checkpoint at all (if this database was re-created on purpose, move its "
                        f"old exported files out of {anchors.export_dir()})")
    for cp_id in in_table:
        if cp_id in authentic and cp_id not in exported:
            problems.append(f"checkpoint {cp_id} is in the table but not in the exported files "
                            f"({anchors.export_dir()}): deleted from the file, or its export failed "
                            "(see the worker's log)")
    rows_problems, unanchored = _rows_against_checkpoints(
        sorted(authentic.values(), key=lambda r: (r["last_event_id"], r["id"])))
    problems.extend(rows_problems)
    latest = authentic[max(authentic)] if authentic else None
    return AnchorVerification(not problems, len(authentic), latest, unanchored, tuple(problems))


def _rows_against_checkpoints(checkpoints: list[dict[str, Any]]) -> tuple[list[str], int]:
    """One pass over the rows' ids and hashes: each checkpoint's row, hash and count. Also the rows after them all."""
    problems: list[str] = []
    rewritten: list[tuple[dict, int]] = []  # (checkpoint, the last checkpointed row below it that still matched)
    miscounted: list[tuple[dict, int]] = []
    missing: list[dict] = []
    pending = iter(checkpoints)
    checkpoint = next(pending, None)
    anchored_to = checkpoints[-1]["last_event_id"] if checkpoints else 0
    count = unanchored = 0
    head_id = None
    matched_to = 0
    for event_id, event_hash in AuditEvent.objects.order_by("id").values_list("id", "hash").iterator(chunk_size=5000):
        while checkpoint is not None and checkpoint["last_event_id"] < event_id:
            missing.append(checkpoint)  # its row is gone, rows after it are not
            checkpoint = next(pending, None)
        count += 1
        head_id = event_id
        unanchored += event_id > anchored_to
        while checkpoint is not None and checkpoint["last_event_id"] == event_id:
            if event_hash != checkpoint["last_hash"]:
                rewritten.append((checkpoint, matched_to))
            elif not rewritten:
                matched_to = event_id
            if count != checkpoint["row_count"]:
                miscounted.append((checkpoint, count))
            checkpoint = next(pending, None)
    beyond = [checkpoint, *pending] if checkpoint is not None else []

    def later(items: list) -> str:
        more = len(items) - 1
        return "" if not more else f" ({more} later checkpoint{'s do' if more > 1 else ' does'} not match either)"

    if beyond:
        newest = beyond[-1]
        problems.append(
            f"the log was truncated: checkpoint {newest['id']} ({newest['created_at']}) signed {newest['row_count']} "
            f"rows up to row {newest['last_event_id']}, but the newest row is "
            f"{head_id if head_id is not None else 'none'} ({count} rows): the newest rows were deleted")
    if missing:
        first = missing[0]
        problems.append(f"row {first['last_event_id']}, signed by checkpoint {first['id']}, is missing: rows were "
                        f"deleted{later(missing)}")
    if rewritten:
        first, since = rewritten[0]
        span = f"after row {since}" if since else "from the first row"
        problems.append(f"row {first['last_event_id']} no longer has the hash checkpoint {first['id']} signed: a row "
                        f"{span} up to row {first['last_event_id']} was rewritten (even if the chain's hashes were "
                        f"re-computed to hide it){later(rewritten)}")
    if miscounted:
        first, actual = miscounted[0]
        gap = abs(first["row_count"] - actual)
        rows = f"{gap} row was" if gap == 1 else f"{gap} rows were"
        change = f"{rows} deleted" if actual < first["row_count"] else f"{rows} inserted after it was signed"
        problems.append(f"checkpoint {first['id']} counted {first['row_count']} rows up to row "
                        f"{first['last_event_id']}, the table holds {actual}: {change}{later(miscounted)}")
    return problems, unanchored
