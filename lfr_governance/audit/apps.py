from django.apps import AppConfig


class AuditConfig(AppConfig):
    name = "lfr_governance.audit"
    label = "audit"
    verbose_name = "Audit log"
