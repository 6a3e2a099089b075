"""Authentication events reach the audit log through Django's auth signals (there is no other hook)."""

from django.contrib.auth.signals import user_logged_in, user_logged_out, user_login_failed
from django.dispatch import receiver

from lfr_governance.audit.models import Action
from lfr_governance.audit.services import record


@receiver(user_logged_in, dispatch_uid="audit.login")
def _audit_login(sender, request, user, **kwargs):
    record(action=Action.LOGIN, event="auth.login", actor=user, target=user)


@receiver(user_logged_out, dispatch_uid="audit.logout")
def _audit_logout(sender, request, user, **kwargs):
    if user is not None:
        record(action=Action.LOGOUT, event="auth.logout", actor=user, target=user)


@receiver(user_login_failed, dispatch_uid="audit.login_failed")
def _audit_login_failed(sender, credentials, request=None, **kwargs):
    # The attempted username only: never the password.
    username = str(credentials.get("username", ""))[:150]
    record(
        action=Action.LOGIN_FAILED,
        event="auth.login_failed",
        actor_label=f"unauthenticated ({username or 'no username'})",
        changes={"username": username},
    )
