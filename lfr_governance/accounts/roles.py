"""The roles of GOVERNANCE.md as Django groups, and the model permissions each one holds.

This table is the one place role permissions are defined; `roles_sync` makes the groups match it
after every migrate. Object permissions (which watchlist, which deployment) are granted per object
with django-guardian on top of these.
"""

from django.apps import apps
from django.contrib.auth.models import Group, Permission
from django.core.exceptions import ImproperlyConfigured
from django.db import transaction

from .choices import Role

ROLE_PERMISSIONS: dict[str, set[str]] = {
    Role.INTELLIGENCE_OFFICER: {
        "watchlists.add_watchlist",
        "watchlists.change_watchlist",
        "watchlists.view_watchlist",
        "watchlists.build_watchlist",
        "watchlists.view_watchlist_images",
        "deployments.add_deployment",
        "deployments.change_deployment",
        "deployments.view_deployment",
        "retention.add_legalhold",
    },
    Role.REVIEWER: {
        "watchlists.view_watchlist",
        "watchlists.review_watchlist",
        "watchlists.view_watchlist_images",
    },
    Role.AUTHORISING_OFFICER: {
        "watchlists.view_watchlist",
        "watchlists.view_watchlist_images",
        "deployments.view_deployment",
        "deployments.authorise_deployment",
    },
    Role.OPERATOR: {
        "deployments.view_deployment",
        "deployments.operate_deployment",
        "matching.view_alert",
        "matching.adjudicate_alert",
    },
    Role.DPO: {
        "audit.view_auditevent",
        "audit.export_auditevent",
        "retention.view_purgerun",
        "audit.lookup_subject",
    },
    Role.ADMINISTRATOR: {
        "audit.view_auditevent",
        "auth.view_user",
        "auth.add_user",
        "auth.change_user",
        "auth.view_group",
        "accounts.view_profile",
        "accounts.add_profile",
        "accounts.change_profile",
        "accounts.view_team",
        "accounts.add_team",
        "accounts.change_team",
        "watchlists.destroy_watchlistversion",
        "deployments.manage_edge_nodes",
    },
}


def role_group_name(role: str) -> str:
    return Role(role).label


def _permission(dotted: str) -> Permission:
    app_label, codename = dotted.split(".", 1)
    try:
        return Permission.objects.get(content_type__app_label=app_label, codename=codename)
    except Permission.DoesNotExist as exc:
        raise ImproperlyConfigured(f"Role permission {dotted!r} does not exist; fix ROLE_PERMISSIONS.") from exc


@transaction.atomic
def roles_sync() -> None:
    """Creates the role groups and sets each group's permissions to exactly the table's."""
    for role, perms in ROLE_PERMISSIONS.items():
        group, _ = Group.objects.get_or_create(name=role_group_name(role))
        group.permissions.set([_permission(p) for p in sorted(perms)])


def user_roles(user) -> set[str]:
    if not user.is_authenticated:
        return set()
    names = set(user.groups.values_list("name", flat=True))
    return {role.value for role in Role if role.label in names}


def user_has_role(user, role: str) -> bool:
    return role in user_roles(user)


def last_app_label() -> str:
    """post_migrate is sent only for apps with a models module; the last of those sees every permission."""
    return [a for a in apps.get_app_configs() if a.models_module is not None][-1].label
