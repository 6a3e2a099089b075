"""What each app plugs into the project's cross-app jobs (NetBox's registry pattern).

The project package is the ground floor and imports no app. Where a project-level job needs every
app's data, the app that owns the data declares it in its own code and registers it here from its
`AppConfig.ready()`:

- **data kinds** (retention): what is held, its period, when a record falls due, how one is erased,
  and what the DPO report shows per deployment. The purge job, the overdue counts and the report
  iterate them.
- **subject lookups** (audit): the records about one subject reference, for a data subject request,
  and the template that shows them. The subject lookup page iterates them.
- **the report's units** (retention): the records the DPO report is laid out by (deployments).
- **the hold target** (retention): the kind of record a legal hold keeps (alerts): how to find one,
  who may hold it, and which deployment and subject it concerns.
- **published figures**: what an app adds to a deployment's public record (matching: alerts, true and
  false alerts, engagements, arrests), so the deployments app publishes them without importing it.
- **version in use** (watchlists): which deployments block destroying a watchlist version (deployments:
  those scheduled or live), so the watchlists app refuses without importing deployments.
- **deployment problems**: why a live deployment's frames cannot be matched now (matching), for the
  deployment page, without the deployments app importing matching.
- **health checks**: the checks an app adds to /healthz (matching: live deployments it cannot match).
- **watchlist access kept** (watchlists): whether another app's grant still needs a person to see a watchlist
  (deployments: the authorising officer of an application that uses it), so unassigning a reviewer takes away
  only what that assignment gave, without the watchlists app importing deployments.

Kinds are registered as providers (functions returning the kinds), called on every read, so a
period shown on the report always follows the settings in force.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Any, Callable, Iterable

from django.db.models import QuerySet


@dataclass(frozen=True)
class DataKind:
    key: str
    label: str
    period: str
    trigger: str
    order: int
    # The records whose period has run out at `now`; None for a kind nothing deletes on a schedule.
    due: Callable[[datetime], Iterable[Any]] | None = None
    # Erases one due record (files and rows, audited as an erasure by the owning app's service).
    purge: Callable[[Any], None] | None = None
    # For the DPO report: {held, deleted, deleted_at, due_at, overdue} for one report unit (deployment).
    report: Callable[[Any, datetime], dict] | None = None
    # For the "held by age" chart: creation times of the records of this kind still held.
    held_since: Callable[[], Iterable[datetime]] | None = None
    # For the DPO report: the evidence that nothing of this kind was kept (counts), per report unit.
    evidence: Callable[[Any], dict] | None = None


@dataclass(frozen=True)
class SubjectLookup:
    key: str
    label: str
    order: int
    records: Callable[[str], list]
    # Renders the records; it receives `records` and `label`.
    template: str


@dataclass(frozen=True)
class ReportUnits:
    """The records the DPO report is laid out by, newest first, with what each row shows joined in."""

    label: str
    queryset: Callable[[], QuerySet]


@dataclass(frozen=True)
class HoldTarget:
    """The record a legal hold keeps."""

    label: str
    # The record with this id, or None.
    find: Callable[[int], Any | None]
    # Whether `user` may place or release a hold on it (beyond the role permission).
    may_hold: Callable[[Any, Any], bool]
    deployment_id: Callable[[Any], int]
    subject_ref: Callable[[Any], str]
    # The ids of the report units (deployments) whose records `user` may hold: the holds they may see.
    held_units_visible: Callable[[Any], Any] | None = None


class _Registry:
    def __init__(self) -> None:
        self._kind_providers: list[Callable[[], Iterable[DataKind]]] = []
        self._subject_lookups: dict[str, SubjectLookup] = {}
        self._report_units: ReportUnits | None = None
        self._hold_target: HoldTarget | None = None
        self._published_figures: list[Callable[[Any], dict]] = []
        self._version_in_use: list[Callable[[int], list[str]]] = []
        self._deployment_problems: list[Callable[[Any], str]] = []
        self._health_checks: dict[str, Callable[[], dict]] = {}
        self._watchlist_access_kept: list[Callable[[Any, Any], bool]] = []

    # registration (from AppConfig.ready)
    def register_data_kinds(self, provider: Callable[[], Iterable[DataKind]]) -> None:
        if provider not in self._kind_providers:
            self._kind_providers.append(provider)

    def register_subject_lookup(self, lookup: SubjectLookup) -> None:
        self._subject_lookups[lookup.key] = lookup

    def register_report_units(self, units: ReportUnits) -> None:
        self._report_units = units

    def register_hold_target(self, target: HoldTarget) -> None:
        self._hold_target = target

    def register_published_figures(self, provider: Callable[[Any], dict]) -> None:
        if provider not in self._published_figures:
            self._published_figures.append(provider)

    def register_version_in_use(self, provider: Callable[[int], list[str]]) -> None:
        """`provider(version_id)` answers the references of the deployments that block destroying it."""
        if provider not in self._version_in_use:
            self._version_in_use.append(provider)

    def register_deployment_problem(self, provider: Callable[[Any], str]) -> None:
        """`provider(deployment)` answers why its frames cannot be matched now, or ""."""
        if provider not in self._deployment_problems:
            self._deployment_problems.append(provider)

    def register_health_check(self, key: str, check: Callable[[], dict]) -> None:
        """`check()` answers {"ok": bool, ...} for /healthz under `key`."""
        self._health_checks[key] = check

    def register_watchlist_access_kept(self, provider: Callable[[Any, Any], bool]) -> None:
        """`provider(user, watchlist)` answers whether the app still gives `user` sight of `watchlist`."""
        if provider not in self._watchlist_access_kept:
            self._watchlist_access_kept.append(provider)

    # reads (by the project's jobs)
    def data_kinds(self) -> list[DataKind]:
        kinds = [kind for provider in self._kind_providers for kind in provider()]
        keys = [kind.key for kind in kinds]
        if len(keys) != len(set(keys)):
            raise RuntimeError(f"Two apps registered the same data kind: {sorted(keys)}")
        return sorted(kinds, key=lambda kind: kind.order)

    def subject_lookups(self) -> list[SubjectLookup]:
        return sorted(self._subject_lookups.values(), key=lambda lookup: lookup.order)

    def report_units(self) -> ReportUnits:
        if self._report_units is None:
            raise RuntimeError("No app registered the retention report's units.")
        return self._report_units

    def hold_target(self) -> HoldTarget:
        if self._hold_target is None:
            raise RuntimeError("No app registered what a legal hold keeps.")
        return self._hold_target

    def version_in_use(self, version_id: int) -> list[str]:
        """References of what uses this watchlist version now and so blocks its destruction (empty: none)."""
        return [ref for provider in self._version_in_use for ref in provider(version_id)]

    def deployment_problems(self, deployment) -> list[str]:
        return [problem for provider in self._deployment_problems if (problem := provider(deployment))]

    def watchlist_access_kept(self, user, watchlist) -> bool:
        """Whether another app's grant still needs `user` to see `watchlist` (its view permissions stay)."""
        return any(provider(user, watchlist) for provider in self._watchlist_access_kept)

    def health_checks(self) -> dict[str, Callable[[], dict]]:
        return dict(self._health_checks)

    def published_figures(self, deployment) -> dict:
        """The figures every registered app adds to this deployment's public record."""
        figures: dict = {}
        for provider in self._published_figures:
            figures.update(provider(deployment))
        return figures


registry = _Registry()
