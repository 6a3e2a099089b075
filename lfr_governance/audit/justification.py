"""The one justification rule (DPA 2018 s.62): a consultation or disclosure says why, in at least
LFR_JUSTIFICATION_MIN_CHARS characters. Forms and serializers take JUSTIFICATION_MIN as min_length."""

from django.conf import settings
from django.core.exceptions import ValidationError
from django.http import HttpResponse

JUSTIFICATION_MIN: int = settings.LFR_JUSTIFICATION_MIN_CHARS


def justification_clean(text: str | None, *, ask: str, example: str) -> str:
    """The justification without surrounding spaces, or ValidationError "<ask> (at least N characters), e.g.
    <example>." when it is shorter than the policy's minimum."""
    text = (text or "").strip()
    if len(text) < JUSTIFICATION_MIN:
        raise ValidationError(f"{ask} (at least {JUSTIFICATION_MIN} characters), e.g. {example}.",
                              code="justification_too_short")
    return text


def export_refused(message: str) -> HttpResponse:
    """The plain 400 an export link answers when what it was given cannot be used: what was wrong, what to do."""
    return HttpResponse(message, status=400, content_type="text/plain; charset=utf-8")
