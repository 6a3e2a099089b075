from django.apps import AppConfig


class RetentionConfig(AppConfig):
    name = "lfr_governance.retention"
    label = "retention"
    verbose_name = "Retention"
