"""The database role the application runs as: no owner, no superuser, and only INSERT and SELECT on the audit log.

The append-only trigger and the anchors hold only if the application cannot switch triggers off (`SET
session_replication_role` needs a superuser), own the tables (an owner may TRUNCATE, ALTER or DROP them) or
UPDATE and DELETE audit rows. Migrations run as the owner; this grants the application role what it needs after
them, and ALTER DEFAULT PRIVILEGES gives it the same on tables the owner creates later. Run it as the owner
after every migrate (the launcher and compose do).
"""

from __future__ import annotations

from django.db import DatabaseError, connection, transaction
from psycopg import sql

from .models import AuditCheckpoint, AuditEvent

# The application may only append to these and read them.
APPEND_ONLY_MODELS = (AuditEvent, AuditCheckpoint)
_ROLE_ATTRIBUTES = "LOGIN NOSUPERUSER NOCREATEDB NOCREATEROLE NOREPLICATION NOBYPASSRLS"


class AppRoleError(RuntimeError):
    pass


def _run(statement: sql.Composable | str) -> None:
    raw = connection.connection
    text = statement if isinstance(statement, str) else statement.as_string(raw)
    with connection.cursor() as cursor:
        cursor.execute(text)


def _one(query: str, params: list) -> tuple | None:
    with connection.cursor() as cursor:
        cursor.execute(query, params)
        return cursor.fetchone()


def _refused(exc: DatabaseError) -> bool:
    return getattr(exc.__cause__, "sqlstate", None) == "42501"  # insufficient_privilege


def app_role_grant(*, role: str, password: str | None = None) -> None:
    """Creates `role` if missing (LOGIN, no superuser, no CREATEDB, CREATEROLE, REPLICATION or BYPASSRLS), and grants
    it SELECT, INSERT, UPDATE and DELETE on the tables, USAGE on the sequences, and on the audit tables only
    INSERT and SELECT. Connected as the owner (the migrations' role). A password is stored hashed (SCRAM)."""
    connection.ensure_connection()
    owner, database, schema = _one("SELECT current_user, current_database(), current_schema()", [])
    if role == owner:
        raise AppRoleError(f"The application role {role} is the tables' owner: name another (DATABASE_APP_URL).")
    name = sql.Identifier(role)
    secret = sql.SQL("")
    if password:
        hashed = connection.connection.pgconn.encrypt_password(password.encode(), role.encode())
        secret = sql.SQL(" PASSWORD {}").format(sql.Literal(hashed.decode()))
    with transaction.atomic():
        if _one("SELECT 1 FROM pg_roles WHERE rolname = %s", [role]) is None:
            try:
                with transaction.atomic():
                    _run(sql.SQL("CREATE ROLE {} " + _ROLE_ATTRIBUTES + "{}").format(name, secret))
            except DatabaseError as exc:
                if not _refused(exc):
                    raise
                raise AppRoleError(
                    f"The role {role} does not exist and {owner} may not create roles: create it as a superuser "
                    f"(CREATE ROLE {role} {_ROLE_ATTRIBUTES} PASSWORD '...'), or migrate as a role with CREATEROLE."
                ) from exc
        else:
            try:
                with transaction.atomic():
                    _run(sql.SQL("ALTER ROLE {} " + _ROLE_ATTRIBUTES + "{}").format(name, secret))
            except DatabaseError as exc:  # not ours to alter: it must already be as harmless, checked below
                if not _refused(exc):
                    raise
        powers = _one("SELECT rolsuper, rolcreaterole, rolcreatedb, rolreplication, rolbypassrls FROM pg_roles "
                      "WHERE rolname = %s", [role])
        if any(powers):
            raise AppRoleError(f"The role {role} may bypass the audit log's protection (superuser, CREATEROLE, "
                               f"CREATEDB, REPLICATION or BYPASSRLS): ALTER ROLE {role} {_ROLE_ATTRIBUTES}.")
        if _one("SELECT pg_has_role(%s, %s, 'MEMBER')", [role, owner])[0]:
            raise AppRoleError(f"The role {role} is a member of the owner {owner}, so it holds the owner's rights: "
                               f"REVOKE {owner} FROM {role}.")
        owned = _one("SELECT count(*) FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace "
                     "WHERE n.nspname = %s AND pg_get_userbyid(c.relowner) = %s", [schema, role])[0]
        if owned:
            raise AppRoleError(f"The role {role} owns {owned} tables or sequences in {schema}: "
                               f"REASSIGN OWNED BY {role} TO {owner}, then run this again.")
        fmt = {"role": name, "owner": sql.Identifier(owner), "schema": sql.Identifier(schema),
               "database": sql.Identifier(database)}
        for statement in (
            "GRANT CONNECT ON DATABASE {database} TO {role}",
            "GRANT USAGE ON SCHEMA {schema} TO {role}",
            # Nobody but the owner creates objects here (PostgreSQL before 15 lets PUBLIC create in public).
            "REVOKE CREATE ON SCHEMA {schema} FROM PUBLIC",
            "REVOKE CREATE ON SCHEMA {schema} FROM {role}",
            "GRANT SELECT, INSERT, UPDATE, DELETE ON ALL TABLES IN SCHEMA {schema} TO {role}",
            "REVOKE TRUNCATE, REFERENCES, TRIGGER ON ALL TABLES IN SCHEMA {schema} FROM {role}",
            "GRANT USAGE ON ALL SEQUENCES IN SCHEMA {schema} TO {role}",
            "ALTER DEFAULT PRIVILEGES FOR ROLE {owner} IN SCHEMA {schema} "
            "GRANT SELECT, INSERT, UPDATE, DELETE ON TABLES TO {role}",
            "ALTER DEFAULT PRIVILEGES FOR ROLE {owner} IN SCHEMA {schema} GRANT USAGE ON SEQUENCES TO {role}",
        ):
            _run(sql.SQL(statement).format(**fmt))
        for model in APPEND_ONLY_MODELS:
            _run(sql.SQL("REVOKE UPDATE, DELETE, TRUNCATE ON {table} FROM {role}").format(
                table=sql.Identifier(model._meta.db_table), role=name))
