from django.apps import AppConfig


class MatchingConfig(AppConfig):
    name = "matching"
    verbose_name = "Matching and alerts"

    def ready(self) -> None:
        from lfr_governance.registry import registry

        from . import retention, selectors

        registry.register_data_kinds(retention.data_kinds)
        registry.register_hold_target(retention.HOLD_TARGET)
        registry.register_subject_lookup(retention.SUBJECT_ALERTS)
        registry.register_published_figures(selectors.deployment_alert_figures)
        registry.register_deployment_problem(selectors.deployment_problem)
        registry.register_health_check("matching", selectors.matching_health)
        registry.register_health_check("frames_expired", selectors.frames_expired_health)
