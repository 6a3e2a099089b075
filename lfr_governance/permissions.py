"""The one permission helper every app uses (STYLE.md: NetBox's restricted querysets, Zulip's access helpers).

- `restrict` scopes a queryset to the objects a user holds the object permission `perm` on, before
  anything else touches it; `scope` does the same and also asks for the role permission.
- `allowed` / `require` answer "role permission and object permission" for one object: the one check
  every service, selector and view uses (nothing else writes it by hand).
- `get_for_user_or_404` fetches and authorises in one call and answers 404 alike for missing and
  forbidden objects, so existence does not leak; `not_found` and NOT_FOUND are the words of that answer.
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


# One answer for "does not exist" and "not yours", so existence does not leak.
NOT_FOUND = "Not found: it does not exist or you do not have access to it."
DENIED = "You are not allowed to do this."


def not_found(what: type[Model] | str) -> Http404:
    """The 404 for a model (or a label such as "edge node") that has no object matching the request."""
    label = what if isinstance(what, str) else what._meta.verbose_name
    return Http404(f"No {label} matches the given query.")


def _roles(perm: str, role: str | tuple[str, ...] | None) -> tuple[str, ...]:
    return (perm,) if role is None else (role,) if isinstance(role, str) else role


def scope(queryset: QuerySet, user, perm: str, *, role: str | tuple[str, ...] | None = None) -> QuerySet:
    """The objects of `queryset` this person may `perm`: the role permission `role` (default: `perm`; a tuple
    asks for each) held, and the object permission `perm` on each object."""
    if not all(has_role_perm(user, needed) for needed in _roles(perm, role)):
        return queryset.none()
    return restrict(queryset, user, perm)


def allowed(user, obj: Model, perm: str, *, role: str | tuple[str, ...] | None = None) -> bool:
    """Whether the person holds the role permission `role` (default: `perm`) and the object permission `perm`
    (dotted, e.g. "deployments.change_deployment") on `obj`."""
    return scope(type(obj)._default_manager.filter(pk=obj.pk), user, perm, role=role).exists()


def require(user, obj: Model, perm: str, *, role: str | tuple[str, ...] | None = None, message: str = DENIED) -> None:
    """PermissionDenied(message) unless `allowed(user, obj, perm, role=role)`."""
    if not allowed(user, obj, perm, role=role):
        raise PermissionDenied(message)


def get_for_user_or_404(queryset: QuerySet, user, perm: str, *, role: str | tuple[str, ...] | None = None,
                        message: str | None = None, **lookup) -> Model:
    """The object matching `lookup` that the person may `perm` (see `scope`), else 404 with `message` (default:
    "No <model> matches the given query."), alike for a missing and a forbidden object."""
    try:
        return scope(queryset, user, perm, role=role).get(**lookup)
    except queryset.model.DoesNotExist:
        raise Http404(message) if message else not_found(queryset.model)


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
