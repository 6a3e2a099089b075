"""The audit log as the retention policy sees it: kept, append-only and tamper-evident."""

from lfr_governance.registry import DataKind


def data_kinds() -> list[DataKind]:
    return [DataKind("audit_log", "Audit log", "Kept", "Append-only and tamper-evident", order=50)]
