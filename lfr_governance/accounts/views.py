"""Sign-in pages that are not Django's own: the lockout answer django-axes gives (AXES_LOCKOUT_CALLABLE), and
the second factor's enrolment and verification."""

import base64
from urllib.parse import urlencode

import django_otp
import segno
from django.conf import settings
from django.contrib.auth.views import redirect_to_login
from django.db import transaction
from django.shortcuts import redirect, render, resolve_url
from django.utils import timezone
from django.utils.http import url_has_allowed_host_and_scheme
from django.utils.safestring import mark_safe
from django_otp.plugins.otp_static.models import StaticDevice, StaticToken
from django_otp.plugins.otp_totp.models import TOTPDevice

from lfr_governance.audit.models import Action
from lfr_governance.audit.services import record

from .forms import SecondFactorForm


def locked_out(request, original_response=None, credentials=None):
    # Said alike for every username, existing or not (axes counts both), so the page tells nothing about
    # the account. Each attempt while locked restarts the cool-off, so "now + cool-off" is the true answer.
    try_again_at = timezone.localtime(timezone.now() + settings.AXES_COOLOFF_TIME)
    minutes = int(settings.AXES_COOLOFF_TIME.total_seconds() // 60)
    return render(request, "accounts/locked_out.html", {"try_again_at": try_again_at, "cooloff_minutes": minutes},
                  status=429)


# Second factor (django-otp): an authenticator app (TOTP) for every person, enrolled at the first sign-in, asked
# for at every sign-in; ten single-use recovery codes (a static device) shown once at enrolment.
RECOVERY_CODE_COUNT = 10
_RECOVERY_SESSION_KEY = "lfr_recovery_codes"


def _next_url(request):
    target = request.POST.get("next") or request.GET.get("next") or ""
    if url_has_allowed_host_and_scheme(target, allowed_hosts={request.get_host()}, require_https=request.is_secure()):
        return target
    return resolve_url(settings.LOGIN_REDIRECT_URL)


def _authenticator(user, *, confirmed=True):
    return TOTPDevice.objects.filter(user=user, confirmed=confirmed).order_by("id").first()


def mfa_verify(request):
    """The code from the authenticator app, or a recovery code, after the password."""
    if not request.user.is_authenticated:
        return redirect_to_login(request.get_full_path())
    if request.user.is_verified():
        return redirect(_next_url(request))
    if _authenticator(request.user) is None:
        return redirect("mfa-enrol")
    form = SecondFactorForm(request.POST or None)
    if request.method == "POST" and form.is_valid():
        device = django_otp.match_token(request.user, form.cleaned_data["code"])
        if device is not None:
            django_otp.login(request, device)
            return redirect(_next_url(request))
        record(action=Action.LOGIN_FAILED, event="auth.second_factor_failed", actor=request.user,
               target=request.user)
        form.add_error("code", "The code is wrong or has expired. Enter the code your authenticator app shows now.")
    return render(request, "accounts/mfa_verify.html", {"form": form, "next": _next_url(request)})


def mfa_enrol(request):
    """First sign-in: the authenticator app's key, confirmed by one code; then the recovery codes, once."""
    user = request.user
    if not user.is_authenticated:
        return redirect_to_login(request.get_full_path())
    codes = request.session.pop(_RECOVERY_SESSION_KEY, None)
    if codes and user.is_verified():
        return render(request, "accounts/mfa_recovery_codes.html", {"codes": codes, "next": _next_url(request)})
    if _authenticator(user) is not None:
        return redirect("mfa-verify")
    device = _authenticator(user, confirmed=False) or TOTPDevice.objects.create(user=user, name="Authenticator app",
                                                                                confirmed=False)
    form = SecondFactorForm(request.POST or None)
    if request.method == "POST" and form.is_valid():
        if device.verify_token(form.cleaned_data["code"]):
            with transaction.atomic():
                device.confirmed = True
                device.save()
                StaticDevice.objects.filter(user=user).delete()
                recovery = StaticDevice.objects.create(user=user, name="Recovery codes", confirmed=True)
                codes = [StaticToken.random_token() for _ in range(RECOVERY_CODE_COUNT)]
                StaticToken.objects.bulk_create(StaticToken(device=recovery, token=code) for code in codes)
                record(action=Action.ALTERATION, event="auth.second_factor_enrolled", actor=user, target=user)
            django_otp.login(request, device)
            request.session[_RECOVERY_SESSION_KEY] = codes
            return redirect(f"{request.path}?{urlencode({'next': _next_url(request)})}")
        form.add_error("code", "The code is wrong or has expired. Enter the code your authenticator app shows now.")
    key = base64.b32encode(device.bin_key).decode().rstrip("=")
    return render(request, "accounts/mfa_enrol.html", {"form": form, "key": key, "config_url": device.config_url,
                                                       "qr_svg": _qr_svg(device.config_url),
                                                       "next": _next_url(request)})


def _qr_svg(address: str):
    """The set-up address as an inline SVG QR code (dark on a light square with its quiet zone, so it scans in
    any theme); made here, never fetched, and no script or style attribute in it (the CSP allows neither)."""
    qr = segno.make(address, error="m")
    return mark_safe(qr.svg_inline(scale=5, border=4, dark="#0b0c0c", light="#ffffff",
                                   title="QR code of the set-up address for your authenticator app"))
