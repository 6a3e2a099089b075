from django.apps import AppConfig


class ToolsConfig(AppConfig):
    name = "tools"
    verbose_name = "Tools: demo data, edge simulator, benchmark, proof of deletion"
