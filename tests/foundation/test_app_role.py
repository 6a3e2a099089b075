"""The application runs as lfr_app, which owns nothing and is no superuser: it cannot change the audit log, switch
its trigger off or truncate it, and does its normal work. Migrations run as the owner (the launcher, compose)."""

import os
import subprocess
import sys
from contextlib import contextmanager

import psycopg
import pytest
import yaml
from django.db import connection
from psycopg import errors

from lfr_governance.audit.app_role import app_role_grant
from lfr_governance.audit.models import Action, AuditEvent
from lfr_governance.audit.services import audit_anchor_verify, audit_checkpoint_create, record
from lfr_governance.launcher import APP_ROLE, app_database_url, app_role_password, database_url_with_user
from tests.conftest import REPO_ROOT


def _conninfo(database: str, user: str, password: str = "") -> str:
    s = connection.settings_dict
    return psycopg.conninfo.make_conninfo(host=s["HOST"] or "127.0.0.1", port=s["PORT"] or 5432, dbname=database,
                                          user=user, password=password or None, connect_timeout=5)


@contextmanager
def _app_connection(database: str):
    with psycopg.connect(_conninfo(database, APP_ROLE, app_role_password()), autocommit=True) as conn:
        yield conn


def _refused(conn, sql, params=()):
    with pytest.raises(errors.InsufficientPrivilege):
        conn.execute(sql, params)


@contextmanager
def _django_as_app_role():
    """This process's own database connection, as the application role: the app's code, not hand-written SQL."""
    saved = dict(connection.settings_dict)
    connection.close()
    connection.settings_dict.update(USER=APP_ROLE, PASSWORD=app_role_password())
    try:
        yield
    finally:
        connection.close()
        connection.settings_dict.update(saved)


@pytest.mark.django_db(transaction=True)
def test_the_app_role_cannot_change_the_audit_log_and_does_its_work(users, settings, tmp_path):
    settings.LFR_AUDIT_ANCHOR_DIR = str(tmp_path / "anchors")
    settings.LFR_AUDIT_ANCHOR_KEY = "k" * 64
    app_role_grant(role=APP_ROLE, password=app_role_password())  # as the owner, as the launcher does after migrate
    row = record(action=Action.COLLECTION, event="test.create", actor=users["dpo"], target_type="thing", target_id=1)
    database = connection.settings_dict["NAME"]
    with _app_connection(database) as app:
        assert app.execute("SELECT rolsuper, rolbypassrls, rolcreaterole, rolcreatedb FROM pg_roles "
                           "WHERE rolname = current_user").fetchone() == (False, False, False, False)
        for table in ("audit_auditevent", "audit_auditcheckpoint"):
            _refused(app, f"UPDATE {table} SET id = id WHERE id = %s", [row.id])
            _refused(app, f"DELETE FROM {table} WHERE id = %s", [row.id])
            _refused(app, f"TRUNCATE {table}")
            _refused(app, f"ALTER TABLE {table} DISABLE TRIGGER ALL")  # only the owner may
        _refused(app, "SET session_replication_role = replica")  # needs a superuser
        _refused(app, "CREATE TABLE audit_shadow (id int)")
        # Ordinary tables: read and written as the app needs; never truncated.
        assert app.execute("UPDATE auth_user SET last_name = 'Renamed' WHERE id = %s", [users["dpo"].id]).rowcount == 1
        _refused(app, "TRUNCATE auth_user CASCADE")
    assert AuditEvent.objects.get(id=row.id).event == "test.create"
    with _django_as_app_role():
        with connection.cursor() as cursor:
            cursor.execute("SELECT current_user")
            assert cursor.fetchone()[0] == APP_ROLE
        appended = record(action=Action.COLLECTION, event="test.as_app_role", actor_label="test")
        assert audit_checkpoint_create().last_event_id == appended.id
        assert audit_anchor_verify().ok


def test_the_launcher_migrates_as_the_owner_and_grants_lfr_app_only_what_it_needs():
    s = connection.settings_dict
    owner, password = s["USER"], s["PASSWORD"] or ""
    database = f"{s['NAME']}_launch"[:63]
    with psycopg.connect(_conninfo("postgres", owner, password), autocommit=True) as admin:
        admin.execute(f'DROP DATABASE IF EXISTS "{database}" WITH (FORCE)')
        admin.execute(f'CREATE DATABASE "{database}"')
        try:
            server = f"postgres://{s['HOST'] or '127.0.0.1'}:{s['PORT'] or 5432}/{database}"
            env = {k: v for k, v in os.environ.items() if k not in ("DATABASE_APP_URL", "DATABASE_OWNER_URL")}
            env.update(DATABASE_URL=database_url_with_user(server, owner, password),
                       DJANGO_SETTINGS_MODULE="lfr_governance.settings.test")
            done = subprocess.run([sys.executable, "-m", "lfr_governance.launcher", "migrate"], cwd=REPO_ROOT, env=env,
                                  capture_output=True, text=True, timeout=300)
            assert done.returncode == 0, done.stdout + done.stderr
            assert f"migrated as {owner}; web, worker and beat run as {APP_ROLE}" in done.stdout
            with psycopg.connect(_conninfo(database, owner, password), autocommit=True) as as_owner:
                assert as_owner.execute("SELECT count(*) FROM pg_class WHERE relowner = "
                                        "(SELECT oid FROM pg_roles WHERE rolname = %s)", [APP_ROLE]).fetchone()[0] == 0
                as_owner.execute("CREATE TABLE later_app_table (id serial PRIMARY KEY)")  # a later migration's table
            with _app_connection(database) as app:
                def privileges(table):
                    return {p for p in ("SELECT", "INSERT", "UPDATE", "DELETE", "TRUNCATE", "REFERENCES", "TRIGGER")
                            if app.execute("SELECT has_table_privilege(%s, %s)", [table, p]).fetchone()[0]}

                for table in ("audit_auditevent", "audit_auditcheckpoint"):
                    assert privileges(table) == {"SELECT", "INSERT"}
                for table in ("deployments_deployment", "auth_user", "later_app_table"):
                    assert privileges(table) == {"SELECT", "INSERT", "UPDATE", "DELETE"}
                assert app.execute("SELECT nextval('later_app_table_id_seq')").fetchone()[0] == 1
        finally:
            admin.execute(f'DROP DATABASE IF EXISTS "{database}" WITH (FORCE)')


def test_the_app_role_url_is_the_owners_server_and_database(monkeypatch):
    monkeypatch.delenv("DATABASE_APP_URL", raising=False)
    monkeypatch.setenv("LFR_APP_DB_PASSWORD", "p@ss/word:1")
    assert app_database_url("postgres://postgres@127.0.0.1:5432/lfr") == \
        "postgres://lfr_app:p%40ss%2Fword%3A1@127.0.0.1:5432/lfr"
    assert database_url_with_user("postgres://owner:x@[::1]/lfr?sslmode=require", "lfr_app", "y") == \
        "postgres://lfr_app:y@[::1]/lfr?sslmode=require"
    monkeypatch.setenv("DATABASE_APP_URL", "postgres://someone:z@db:5432/lfr")
    assert app_database_url("postgres://postgres@127.0.0.1:5432/lfr") == "postgres://someone:z@db:5432/lfr"


def test_compose_migrates_as_the_owner_and_runs_web_worker_and_beat_as_lfr_app():
    services = yaml.safe_load((REPO_ROOT / "compose.yaml").read_text())["services"]
    postgres_user = services["postgres"]["environment"]["POSTGRES_USER"]
    for name in ("web", "worker", "beat"):
        env = services[name]["environment"]
        assert env["DATABASE_URL"].startswith(f"postgres://{APP_ROLE}:")
        assert env["LFR_AUDIT_ANCHOR_KEY"].startswith("${LFR_AUDIT_ANCHOR_KEY:?")  # required, never a default
        assert (name == "web") == ("DATABASE_OWNER_URL" in env)  # only the web's start-up migrates
    assert services["web"]["environment"]["DATABASE_OWNER_URL"].startswith(f"postgres://{postgres_user}:")
    command = " ".join(services["web"]["command"])
    assert command.index("lfr_governance.launcher migrate") < command.index("gunicorn")
    assert "env -u DATABASE_OWNER_URL gunicorn" in command  # gunicorn never holds the owner's password
    anchors = services["worker"]["environment"]["LFR_AUDIT_ANCHOR_DIR"]
    for name in ("web", "worker"):  # the worker writes the exported checkpoints, the web reads them
        assert any(v.endswith(f":{anchors}") for v in services[name]["volumes"])
