import pytest
from django.core.management import CommandError, call_command
from django.db import IntegrityError, connection, transaction
from django.db.utils import DatabaseError

from lfr_governance.audit.models import Action, AuditEvent
from lfr_governance.audit.services import GENESIS_HASH, AuditError, audit_chain_verify, record

pytestmark = pytest.mark.django_db


def _three_rows(actor):
    return [
        record(action=Action.COLLECTION, event="test.create", actor=actor, target_type="thing", target_id=i,
               changes={"n": i})
        for i in range(3)
    ]


def test_rows_form_a_hash_chain(users):
    start = AuditEvent.objects.count()
    rows = _three_rows(users["dpo"])
    assert rows[0].prev_hash == (AuditEvent.objects.filter(id__lt=rows[0].id).order_by("-id").first().hash
                                 if start else GENESIS_HASH)
    assert rows[1].prev_hash == rows[0].hash and rows[2].prev_hash == rows[1].hash
    assert len({r.hash for r in rows}) == 3
    result = audit_chain_verify()
    assert result.ok and result.checked == AuditEvent.objects.count()


def test_database_refuses_update_and_delete(users):
    row = _three_rows(users["dpo"])[1]
    for sql in ("UPDATE audit_auditevent SET event = 'forged' WHERE id = %s",
                "DELETE FROM audit_auditevent WHERE id = %s"):
        with pytest.raises(DatabaseError, match="append-only"):
            with transaction.atomic(), connection.cursor() as cursor:
                cursor.execute(sql, [row.id])
    assert AuditEvent.objects.get(id=row.id).event == "test.create"


def _around_the_trigger(sql, params):
    # What a database superuser could do: run with user triggers off, change the table, switch them back.
    with connection.cursor() as cursor:
        cursor.execute("SET session_replication_role = replica")
        cursor.execute(sql, params)
        cursor.execute("SET session_replication_role = DEFAULT")


def test_verify_names_a_changed_row(users):
    rows = _three_rows(users["dpo"])
    _around_the_trigger("UPDATE audit_auditevent SET justification = 'edited' WHERE id = %s", [rows[1].id])
    result = audit_chain_verify()
    assert not result.ok and result.broken_id == rows[1].id
    with pytest.raises(CommandError, match=f"row {rows[1].id} was changed"):
        call_command("audit_verify")


def test_verify_names_the_row_after_a_deleted_one(users):
    rows = _three_rows(users["dpo"])
    _around_the_trigger("DELETE FROM audit_auditevent WHERE id = %s", [rows[1].id])
    result = audit_chain_verify()
    assert not result.ok and result.broken_id == rows[2].id
    with pytest.raises(CommandError, match=f"row {rows[2].id} does not follow"):
        call_command("audit_verify")


def test_verify_command_reports_an_intact_chain(users, capsys):
    _three_rows(users["dpo"])
    call_command("audit_verify")
    assert "Audit chain intact" in capsys.readouterr().out


def test_consultation_and_disclosure_need_a_justification(users):
    for action in (Action.CONSULTATION, Action.DISCLOSURE):
        with pytest.raises(AuditError, match="justification"):
            record(action=action, event="test.view", actor=users["dpo"], target_type="thing", target_id=1)
    # The database holds the same rule for writes that bypass the service.
    with pytest.raises(IntegrityError), transaction.atomic():
        AuditEvent.objects.create(occurred_at="2026-01-01T00:00Z", actor_label="x", action="consultation",
                                  event="raw", prev_hash="0" * 64, hash="f" * 64)
    row = record(action=Action.CONSULTATION, event="test.view", actor=users["dpo"], target_type="thing",
                 target_id=1, justification="Subject access request SAR-1")
    assert row.justification == "Subject access request SAR-1"


def test_request_id_and_ip_reach_the_audit_row(client, users):
    client.post("/login/", {"username": "dpo", "password": "wrong"}, HTTP_X_REQUEST_ID="req-12345678",
                REMOTE_ADDR="10.1.2.3")
    row = AuditEvent.objects.filter(event="auth.login_failed").latest("id")
    assert row.request_id == "req-12345678" and row.ip == "10.1.2.3"
