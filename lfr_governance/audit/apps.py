from django.apps import AppConfig


class AuditConfig(AppConfig):
    name = "lfr_governance.audit"
    label = "audit"
    verbose_name = "Audit log"

    def ready(self) -> None:
        from lfr_governance.registry import registry

        from . import health, retention

        registry.register_data_kinds(retention.data_kinds)
        # A stale checkpoint: rows left unsigned for longer than a few of beat's intervals.
        registry.register_health_check("audit_checkpoint", health.audit_checkpoint_check)
