import os

import environ
from django.core.management.base import BaseCommand, CommandError

from lfr_governance.audit.app_role import AppRoleError, app_role_grant


class Command(BaseCommand):
    help = ("Run as the tables' owner after migrate: creates the application role named by DATABASE_APP_URL if "
            "missing (no superuser, no owner) and grants it what the application needs, the audit log INSERT and "
            "SELECT only. The launcher and compose call it.")

    def handle(self, *args, **options):
        url = os.environ.get("DATABASE_APP_URL")
        if not url:
            raise CommandError("DATABASE_APP_URL is not set: give the application role's URL, "
                               "e.g. postgres://lfr_app:PASSWORD@HOST:5432/lfr.")
        app = environ.Env.db_url_config(url)
        try:
            app_role_grant(role=app["USER"], password=app.get("PASSWORD") or None)
        except AppRoleError as exc:
            raise CommandError(str(exc)) from exc
        self.stdout.write(f"Database role {app['USER']}: granted the application's rights (the audit log: INSERT "
                          "and SELECT only).")
