"""The audit chain anchored outside the database: signed checkpoints in a table and in exported files, checked by
audit_verify. The attacks are a database superuser's (this test's owner connection): triggers off, rows rewritten
with the chain recomputed, the newest rows deleted, checkpoints altered or deleted."""

import json
import os
import secrets
import stat
from pathlib import Path

import psycopg
import pytest
from django.core.management import CommandError, call_command
from django.db import DatabaseError, connection, transaction

from lfr_governance.audit import anchors
from lfr_governance.audit.models import Action, AuditCheckpoint, AuditEvent
from lfr_governance.audit.services import (_CHAIN_LOCK_KEY, GENESIS_HASH, AuditError, audit_anchor_verify,
                                           audit_chain_verify, audit_checkpoint_create, event_hash, record)

pytestmark = pytest.mark.django_db


@pytest.fixture(autouse=True)
def anchor_settings(settings, tmp_path):
    """This test's own key and export folder: nothing shared with another run or the development system."""
    settings.LFR_AUDIT_ANCHOR_KEY = secrets.token_hex(32)
    settings.LFR_AUDIT_ANCHOR_DIR = str(tmp_path / "anchors")
    return settings


@pytest.fixture
def checkpoint(django_capture_on_commit_callbacks):
    """Signs a checkpoint as beat's task does, its export written once the transaction commits."""

    def sign():
        with django_capture_on_commit_callbacks(execute=True):
            return audit_checkpoint_create()

    return sign


def _rows(actor, n=3, start=0):
    return [record(action=Action.COLLECTION, event="test.create", actor=actor, target_type="thing", target_id=i,
                   changes={"n": i}) for i in range(start, start + n)]


def _as_superuser(*statements):
    """What a database superuser can do: user triggers off, change the tables, triggers back on."""
    with connection.cursor() as cursor:
        cursor.execute("SET session_replication_role = replica")
        try:
            for sql, params in statements:
                cursor.execute(sql, params)
        finally:
            cursor.execute("SET session_replication_role = DEFAULT")


def _rewrite_and_rechain(row_id, justification):
    """Changes one row's text and recomputes its hash and every later row's, so the chain alone looks intact."""
    statements = [("UPDATE audit_auditevent SET justification = %s WHERE id = %s", [justification, row_id])]
    before = AuditEvent.objects.filter(id__lt=row_id).order_by("-id").first()
    prev = before.hash if before else GENESIS_HASH
    for row in AuditEvent.objects.filter(id__gte=row_id).order_by("id"):
        if row.id == row_id:
            row.justification = justification
        row.prev_hash = prev
        prev = event_hash(row)
        statements.append(("UPDATE audit_auditevent SET prev_hash = %s, hash = %s WHERE id = %s",
                           [row.prev_hash, prev, row.id]))
    _as_superuser(*statements)


def _exported_lines(settings):
    return [json.loads(line) for path in sorted(Path(settings.LFR_AUDIT_ANCHOR_DIR).glob("*.jsonl"))
            for line in path.read_text().splitlines()]


def _verify_fails(*fragments):
    with pytest.raises(CommandError) as failure:
        call_command("audit_verify")
    for fragment in fragments:
        assert fragment in str(failure.value), str(failure.value)
    return str(failure.value)


def test_an_untouched_log_with_checkpoints_verifies(users, checkpoint, anchor_settings, capsys):
    _rows(users["dpo"])
    first = checkpoint()
    assert checkpoint() is None  # nothing appended since: nothing to sign
    rows = _rows(users["dpo"], start=3)
    second = checkpoint()
    _rows(users["dpo"], 2, start=6)
    assert second.prev_mac == first.mac and second.last_event_id == rows[-1].id
    assert second.row_count == AuditEvent.objects.filter(id__lte=rows[-1].id).count()
    # The export holds exactly what the table holds, outside the database.
    assert _exported_lines(anchor_settings) == [anchors.checkpoint_record(c) for c in (first, second)]
    result = audit_anchor_verify()
    assert result.ok and result.checkpoints == 2 and result.unanchored == 2 and result.latest["id"] == second.id
    assert audit_chain_verify().ok
    call_command("audit_verify")
    out = capsys.readouterr().out
    assert "Audit chain intact" in out and "Audit anchors intact: 2 signed checkpoints" in out


def test_a_rewritten_row_with_a_recomputed_chain_is_found(users, checkpoint):
    rows = _rows(users["dpo"], 2)
    early = checkpoint()
    rows += _rows(users["dpo"], 3, start=2)
    late = checkpoint()
    _rewrite_and_rechain(rows[3].id, "edited after the fact")
    assert audit_chain_verify().ok  # the chain alone no longer shows it
    assert not audit_anchor_verify().ok
    _verify_fails(f"row {rows[-1].id} no longer has the hash checkpoint {late.id} signed",
                  f"a row after row {early.last_event_id} up to row {rows[-1].id} was rewritten")
    # Beat's next checkpoint refuses to sign over it.
    _rows(users["dpo"], 1, start=9)
    with pytest.raises(AuditError, match=f"row {late.last_event_id} no longer fits checkpoint {late.id}"):
        checkpoint()


def test_a_row_rewritten_before_the_first_checkpoint_is_found(users, checkpoint):
    rows = _rows(users["dpo"], 4)
    signed = checkpoint()
    _rewrite_and_rechain(rows[0].id, "edited")
    _verify_fails(f"checkpoint {signed.id} signed", f"from the first row up to row {rows[-1].id} was rewritten")


def test_deleting_the_newest_rows_is_reported_as_truncation(users, checkpoint):
    rows = _rows(users["dpo"], 5)
    signed = checkpoint()
    _as_superuser(("DELETE FROM audit_auditevent WHERE id >= %s", [rows[3].id]))
    assert audit_chain_verify().ok  # what is left still chains
    message = _verify_fails("the log was truncated", f"checkpoint {signed.id}", f"up to row {rows[-1].id}",
                            f"the newest row is {rows[2].id}")
    assert f"signed {signed.row_count} rows" in message


def test_deleting_a_row_inside_the_checkpointed_log_is_reported(users, checkpoint):
    rows = _rows(users["dpo"], 4)
    signed = checkpoint()
    _as_superuser(("DELETE FROM audit_auditevent WHERE id = %s", [rows[1].id]))
    _verify_fails(f"row {rows[2].id} does not follow",  # the chain
                  f"checkpoint {signed.id} counted {signed.row_count} rows", "1 row was deleted")


def test_an_altered_checkpoint_signature_is_reported(users, checkpoint):
    _rows(users["dpo"])
    signed = checkpoint()
    _rows(users["dpo"], start=3)
    after = checkpoint()
    _as_superuser(("UPDATE audit_auditcheckpoint SET mac = %s WHERE id = %s", ["f" * 64, signed.id]))
    _verify_fails(f"checkpoint {signed.id} in the table does not carry a valid signature",
                  f"checkpoint {after.id} does not follow checkpoint {signed.id}")


def test_a_checkpoint_rewritten_to_fit_a_shortened_log_is_reported(users, checkpoint):
    rows = _rows(users["dpo"], 4)
    signed = checkpoint()
    # The attacker deletes the newest row and moves the checkpoint down to fit; they cannot sign it.
    _as_superuser(("DELETE FROM audit_auditevent WHERE id = %s", [rows[-1].id]),
                  ("UPDATE audit_auditcheckpoint SET last_event_id = %s, last_hash = %s, row_count = row_count - 1 "
                   "WHERE id = %s", [rows[-2].id, rows[-2].hash, signed.id]))
    _verify_fails(f"checkpoint {signed.id} in the table does not carry a valid signature",
                  "the log was truncated")  # the exported copy still says where the log ended


def test_a_deleted_checkpoint_row_is_reported(users, checkpoint):
    _rows(users["dpo"])
    signed = checkpoint()
    _as_superuser(("DELETE FROM audit_auditcheckpoint WHERE id = %s", [signed.id]))
    _verify_fails(f"checkpoint {signed.id}", "is in the exported file but not in the table: deleted from the database")


def test_deleting_the_checkpoints_and_the_rows_they_signed_is_still_found(users, checkpoint):
    rows = _rows(users["dpo"], 4)
    signed = checkpoint()
    _as_superuser(("DELETE FROM audit_auditcheckpoint", []),
                  ("DELETE FROM audit_auditevent WHERE id >= %s", [rows[2].id]))
    _verify_fails("not in the table", "the log was truncated", f"checkpoint {signed.id}")


def test_a_checkpoint_deleted_or_forged_in_the_exported_file_is_reported(users, checkpoint, anchor_settings):
    _rows(users["dpo"])
    first = checkpoint()
    _rows(users["dpo"], start=3)
    second = checkpoint()
    (path,) = Path(anchor_settings.LFR_AUDIT_ANCHOR_DIR).glob("*.jsonl")
    lines = path.read_text().splitlines()
    forged = json.loads(lines[1]) | {"row_count": 99}
    path.write_text(json.dumps(forged) + "\n")  # the first checkpoint's line deleted, the second's altered
    _verify_fails(f"checkpoint {first.id} is in the table but not in the exported files",
                  f"checkpoint {second.id} in the exported file does not carry a valid signature")


def test_a_checkpoint_signed_with_another_key_names_both_keys(users, checkpoint, anchor_settings):
    _rows(users["dpo"])
    signed = checkpoint()
    old_key = anchors.key_id(anchor_settings.LFR_AUDIT_ANCHOR_KEY.encode())
    anchor_settings.LFR_AUDIT_ANCHOR_KEY = secrets.token_hex(32)
    _verify_fails(f"checkpoint {signed.id} in the table does not carry a valid signature",
                  f"signed with key {old_key}, this server holds key "
                  f"{anchors.key_id(anchor_settings.LFR_AUDIT_ANCHOR_KEY.encode())}")


def test_a_log_without_checkpoints_is_not_anchored_yet(users, capsys):
    _rows(users["dpo"])
    result = audit_anchor_verify()
    assert result.ok and result.latest is None and result.unanchored == AuditEvent.objects.count()
    call_command("audit_verify")
    assert "no checkpoint yet" in capsys.readouterr().out


@pytest.mark.django_db(transaction=True)  # the rows committed: their transactions no longer hold the chain
def test_a_checkpoint_waits_for_no_transaction_that_holds_the_chain(users, checkpoint):
    _rows(users["dpo"], 1)
    s = connection.settings_dict
    with psycopg.connect(host=s["HOST"] or "127.0.0.1", port=s["PORT"] or 5432, dbname=s["NAME"], user=s["USER"],
                         password=s["PASSWORD"] or None) as other:
        other.execute("SELECT pg_advisory_lock(%s)", [_CHAIN_LOCK_KEY])  # a long import, appending
        assert checkpoint() is None
    assert checkpoint() is not None  # the next round


def test_the_checkpoint_table_refuses_update_and_delete(users, checkpoint):
    _rows(users["dpo"], 1)
    signed = checkpoint()
    for sql in ("UPDATE audit_auditcheckpoint SET row_count = 0 WHERE id = %s",
                "DELETE FROM audit_auditcheckpoint WHERE id = %s"):
        with pytest.raises(DatabaseError, match="append-only"), transaction.atomic(), connection.cursor() as cursor:
            cursor.execute(sql, [signed.id])


def test_beat_signs_a_checkpoint_every_interval(users, settings, django_capture_on_commit_callbacks):
    from lfr_governance.tasks import audit_checkpoint

    entry = settings.CELERY_BEAT_SCHEDULE["audit-checkpoint"]
    assert entry["task"] == "audit.checkpoint" == audit_checkpoint.name
    assert entry["schedule"] == float(settings.LFR_AUDIT_ANCHOR_INTERVAL_SECONDS)
    _rows(users["dpo"], 1)
    with django_capture_on_commit_callbacks(execute=True):
        audit_checkpoint.apply().get()
    assert AuditCheckpoint.objects.count() == 1 and audit_anchor_verify().ok


def test_the_key_file_is_made_once_readable_by_its_owner_only(settings, tmp_path):
    settings.LFR_AUDIT_ANCHOR_KEY = ""
    settings.LFR_AUDIT_ANCHOR_KEY_FILE = str(tmp_path / "keys" / "audit-anchor.key")
    key = anchors.anchor_key()
    mode = stat.S_IMODE(os.stat(settings.LFR_AUDIT_ANCHOR_KEY_FILE).st_mode)
    assert mode == 0o600 and len(key) == 64 and anchors.anchor_key() == key
    assert not [p for p in (tmp_path / "keys").iterdir() if p.name != "audit-anchor.key"]  # no draft left behind


def test_without_a_key_where_none_may_be_made_nothing_is_signed(settings, tmp_path, users):
    settings.LFR_AUDIT_ANCHOR_KEY = ""
    settings.LFR_AUDIT_ANCHOR_KEY_FILE = str(tmp_path / "missing.key")
    settings.LFR_AUDIT_ANCHOR_KEY_CREATE = False
    _rows(users["dpo"], 1)
    with pytest.raises(anchors.AnchorKeyError, match="No audit anchor key: set LFR_AUDIT_ANCHOR_KEY"):
        audit_checkpoint_create()
    settings.LFR_AUDIT_ANCHOR_KEY = "too short"
    with pytest.raises(anchors.AnchorKeyError, match="shorter than 32 characters"):
        audit_checkpoint_create()


def test_the_audit_page_and_the_export_show_the_anchor_check(client, users, checkpoint):
    _rows(users["dpo"])
    signed = checkpoint()
    client.force_login(users["dpo"])
    html = client.get("/audit/").content.decode()
    assert "Anchored" in html and f"checkpoint {signed.id}" in html
    body = json.loads(client.get("/audit/export.json?justification=ICO request 2026/114").content)
    assert body["anchor"]["ok"] is True and body["anchor"]["checkpoints"] == 1
    assert body["checkpoints"] == [anchors.checkpoint_record(signed)]
    _as_superuser(("DELETE FROM audit_auditevent WHERE id = %s", [signed.last_event_id]))
    html = client.get("/audit/").content.decode()
    assert "Anchors failed" in html
    assert f"row {signed.last_event_id}, signed by checkpoint {signed.id}, is missing" in html
