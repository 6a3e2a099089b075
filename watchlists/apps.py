from django.apps import AppConfig


class WatchlistsConfig(AppConfig):
    name = "watchlists"
    verbose_name = "Watchlists"

    def ready(self) -> None:
        from lfr_governance.registry import registry

        from .subjects import SUBJECT_ENTRIES

        registry.register_subject_lookup(SUBJECT_ENTRIES)
