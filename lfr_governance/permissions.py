"""The one permission helper every app uses (STYLE.md: NetBox's restricted querysets, Zulip's access helpers).

- `restrict` scopes a queryset to the objects a user holds `perm` on, before anything else touches it.
- `get_for_user_or_404` fetches and authorises in one call and answers 404 alike for missing and
  forbidden objects, so existence does not leak.
- `require_role_perm` checks a model-level (role) permission and raises PermissionDenied.

Object permissions live in direct foreign-key django-guardian models (UserObjectPermissionBase /
GroupObjectPermissionBase subclasses) next to each model that gets them. guardian's defaults differ
between functions, so `accept_global_perms` and `with_superuser` are always passed explicitly:
nobody, superusers included, sees an object they were not granted.
"""

from django.contrib.auth.models import Permission
from django.core.exceptions import PermissionDenied
from django.db.models import Model, Q, QuerySet
from django.http import Http404
from guardian.shortcuts import get_objects_for_user


def restrict(queryset: QuerySet, user, perm: str) -> QuerySet:
    """The objects of `queryset` on which `user` holds the object permission `perm` (codename or dotted)."""
    if not user.is_authenticated or not user.is_active:
        return queryset.none()
    return get_objects_for_user(
        user, perm, klass=queryset, accept_global_perms=False, with_superuser=False, use_groups=True
    )


def get_for_user_or_404(queryset: QuerySet, user, perm: str, **lookup) -> Model:
    try:
        return restrict(queryset, user, perm).get(**lookup)
    except queryset.model.DoesNotExist:
        raise Http404(f"No {queryset.model._meta.verbose_name} matches the given query.")


def role_perms(user) -> set[str]:
    """The model-level permissions a user holds through role groups or directly, cached on the user.

    Deliberately not `user.has_perm`: Django's backend grants a superuser every permission, and here
    superuser status must not open watchlist images or alerts to anyone.
    """
    if not user.is_authenticated or not user.is_active:
        return set()
    cached = getattr(user, "_lfr_role_perms", None)
    if cached is None:
        rows = Permission.objects.filter(Q(group__user=user) | Q(user=user)).values_list(
            "content_type__app_label", "codename"
        )
        cached = {f"{app}.{codename}" for app, codename in rows}
        user._lfr_role_perms = cached
    return cached


def has_role_perm(user, perm: str) -> bool:
    return perm in role_perms(user)


def require_role_perm(user, perm: str) -> None:
    if not has_role_perm(user, perm):
        raise PermissionDenied("Your role does not allow this. Ask an administrator if you need it.")
