from django.apps import AppConfig


class DeploymentsConfig(AppConfig):
    name = "deployments"
    verbose_name = "Deployments"

    def ready(self) -> None:
        from lfr_governance.registry import registry

        from . import retention, selectors

        registry.register_data_kinds(retention.data_kinds)
        registry.register_report_units(retention.REPORT_UNITS)
        registry.register_version_in_use(selectors.version_in_use)
        registry.register_watchlist_access_kept(selectors.ao_sees_watchlist)
