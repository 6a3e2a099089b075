"""Writes audit rows. Call `record` inside the same transaction as the change it describes."""

import hashlib
import json
from dataclasses import dataclass
from datetime import timezone as dt_timezone
from typing import Any

from django.core.serializers.json import DjangoJSONEncoder
from django.db import connection, models, transaction

from lfr_governance import clock
from lfr_governance.request_context import client_ip_var, request_id_var

from .models import ACTIONS_NEEDING_JUSTIFICATION, Action, AuditEvent

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


def audit_chain_verify() -> ChainVerification:
    """Recomputes every row's hash in order; names the first row that does not fit the chain."""
    expected_prev = GENESIS_HASH
    checked = 0
    for row in AuditEvent.objects.order_by("id").iterator(chunk_size=2000):
        if row.prev_hash != expected_prev:
            return ChainVerification(
                False, checked, row.pk,
                f"row {row.pk} does not follow the row before it (a row before it was changed or deleted)",
            )
        if event_hash(row) != row.hash:
            return ChainVerification(False, checked, row.pk, f"row {row.pk} was changed after it was written")
        expected_prev = row.hash
        checked += 1
    return ChainVerification(True, checked)
