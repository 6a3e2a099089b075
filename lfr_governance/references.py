"""References as people type them: a deployment as it is shown everywhere (LFR-00002), or its number."""

from __future__ import annotations

import re

from django.core.exceptions import ValidationError

_DEPLOYMENT_REF = re.compile(r"^(?:LFR-?)?(\d{1,18})$", re.IGNORECASE)
DEPLOYMENT_REF_HELP = "Give the deployment as it is shown, e.g. LFR-00002 (or its number, 2)."


def deployment_number_parse(text: str) -> int:
    """The deployment number in `text` ("LFR-00002", "00002" or "2"); ValidationError for anything else."""
    match = _DEPLOYMENT_REF.match((text or "").strip())
    if match is None:
        raise ValidationError({"deployment": DEPLOYMENT_REF_HELP})
    return int(match[1])
