"""Authentication events reach the audit log through Django's auth signals (there is no other hook), and a
sign-in stamps its session with the time, for the session's absolute age limit."""

from axes.signals import user_locked_out
from django.contrib.auth.signals import user_logged_in, user_logged_out, user_login_failed
from django.dispatch import receiver
from django.utils import timezone

from lfr_governance.audit.models import Action
from lfr_governance.audit.services import record
from lfr_governance.middleware import SESSION_SIGNED_IN_AT_KEY


@receiver(user_logged_in, dispatch_uid="audit.login")
def _audit_login(sender, request, user, **kwargs):
    record(action=Action.LOGIN, event="auth.login", actor=user, target=user)


@receiver(user_logged_in, dispatch_uid="session.signed_in_at")
def _stamp_sign_in(sender, request, user, **kwargs):
    # Every sign-in, a second one in the same session included, starts the absolute limit again.
    if request is not None and hasattr(request, "session"):
        request.session[SESSION_SIGNED_IN_AT_KEY] = timezone.now().timestamp()


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


@receiver(user_locked_out, dispatch_uid="audit.locked_out")
def _audit_locked_out(sender, request, username=None, ip_address=None, **kwargs):
    # At the lockout and at each attempt while it lasts (axes sends both), like a failed sign-in: the username only.
    username = str(username or "")[:150]
    record(
        action=Action.LOGIN_FAILED,
        event="auth.locked_out",
        actor_label=f"unauthenticated ({username or 'no username'})",
        changes={"username": username},
    )
