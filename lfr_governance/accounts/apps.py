from django.apps import AppConfig


class AccountsConfig(AppConfig):
    name = "lfr_governance.accounts"
    label = "accounts"
    verbose_name = "People and roles"

    def ready(self) -> None:
        from django.db.models.signals import post_migrate

        from . import signals  # noqa: F401  (authentication audit receivers)

        post_migrate.connect(_sync_roles, dispatch_uid="accounts.roles_sync")


def _sync_roles(sender, **kwargs) -> None:
    # After the last app's post_migrate, so every app's permissions exist by then.
    from .roles import last_app_label, roles_sync

    if sender.label == last_app_label():
        roles_sync()
