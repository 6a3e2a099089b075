from django.apps import AppConfig


class AuditConfig(AppConfig):
    name = "lfr_governance.audit"
    label = "audit"
    verbose_name = "Audit log"

    def ready(self) -> None:
        from lfr_governance.registry import registry

        from . import retention

        registry.register_data_kinds(retention.data_kinds)
