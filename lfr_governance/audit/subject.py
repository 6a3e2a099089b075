"""Subject lookup for data subject requests: every entry, alert and audit row about one subject reference.

Each app registers the records it holds about a subject (lfr_governance/registry.py); the lookup
iterates them, then adds the audit rows, which are this module's own.
"""

from django.db import transaction

from lfr_governance.registry import registry

from .models import Action, AuditEvent
from .services import record


def subject_records(subject_ref: str) -> dict:
    """{lookup key: records} for every registered lookup, "events" for the audit rows, and "sections" to show."""
    found: dict = {}
    sections = []
    for lookup in registry.subject_lookups():
        found[lookup.key] = lookup.records(subject_ref)
        sections.append({"key": lookup.key, "label": lookup.label, "template": lookup.template,
                         "records": found[lookup.key]})
    found["events"] = list(AuditEvent.objects.filter(subject_ref=subject_ref).order_by("id"))
    found["sections"] = sections
    return found


@transaction.atomic
def subject_lookup(*, actor, subject_ref: str, justification: str) -> dict:
    """The lookup is itself a consultation of personal data, audited with its justification."""
    found = subject_records(subject_ref)
    counts = {section["key"]: len(section["records"]) for section in found["sections"]}
    record(action=Action.CONSULTATION, event="subject.lookup", actor=actor, subject_ref=subject_ref,
           target_type="subject", target_id=subject_ref[:64], justification=justification,
           changes={**counts, "audit_rows": len(found["events"])})
    return found
