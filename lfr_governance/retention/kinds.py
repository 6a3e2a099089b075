"""The data kinds the retention policy covers: what each holds, when it falls due, and how it is deleted.

Periods come from the one policy place (settings.LFR_RETENTION). Each app declares the kinds it owns
in its own `retention.py` and registers them from its `AppConfig.ready()` (see lfr_governance/registry.py);
the purge job, the overdue counts and the DPO report read them from here. Each kind answers
`due(now)` with the records whose period has run out, and `purge(record)` erases one (files and rows,
audited as erasure by the owning app's service).
"""

from __future__ import annotations

from lfr_governance.registry import DataKind, registry

__all__ = ["DataKind", "data_kinds"]


def data_kinds() -> list[DataKind]:
    return registry.data_kinds()
