"""compose.yaml runs the production shape: the same services as the embedded run."""

import yaml

from tests.conftest import REPO_ROOT


def _compose():
    return yaml.safe_load((REPO_ROOT / "compose.yaml").read_text())


def test_compose_has_the_five_services_from_one_image():
    services = _compose()["services"]
    assert set(services) == {"postgres", "redis", "web", "worker", "beat"}
    app_services = [services[name] for name in ("web", "worker", "beat")]
    builds = {str(s.get("build")) for s in app_services}
    images = {s.get("image") for s in app_services}
    assert len(builds) == 1 and len(images) == 1 and None not in images
    for service in app_services:
        env = service["environment"]
        assert env["DJANGO_SETTINGS_MODULE"] == "lfr_governance.settings.production"
        assert env["DATABASE_URL"].startswith("postgres://") and "@postgres:5432/" in env["DATABASE_URL"]
        assert env["REDIS_URL"].startswith("redis://redis:6379")
    assert "gunicorn" in " ".join(services["web"]["command"])
    assert "worker" in services["worker"]["command"] and "beat" in services["beat"]["command"]


def test_compose_redis_keeps_nothing_on_disk():
    redis = _compose()["services"]["redis"]
    command = redis["command"]
    assert command[command.index("--save") + 1] == ""
    assert command[command.index("--appendonly") + 1] == "no"
    assert not redis.get("volumes"), "the Redis that carries frames must have no volume"


def test_compose_postgres_keeps_its_data_in_a_volume():
    compose = _compose()
    assert any(v.endswith("/var/lib/postgresql/data") for v in compose["services"]["postgres"]["volumes"])
    assert "pgdata" in compose["volumes"]


def test_the_embedded_run_starts_the_same_processes_as_compose_and_takes_its_log_level():
    from lfr_governance.launcher import service_commands

    services = _compose()["services"]
    chatty, quiet = service_commands(8000, "INFO"), service_commands(8000, "warning")
    assert {"web", "worker", "beat"} <= set(chatty) and set(chatty) - {"web", "worker", "beat"} == {"demo-camera"}
    for flag in ("--concurrency", "--without-gossip", "--without-mingle"):  # the worker as compose runs it
        assert flag in chatty["worker"] and flag in services["worker"]["command"]
    assert "--access-logfile" in chatty["web"] and "--access-logfile" not in quiet["web"]
    assert chatty["worker"][chatty["worker"].index("--loglevel") + 1] == "INFO"
    assert quiet["worker"][quiet["worker"].index("--loglevel") + 1] == "WARNING"
    assert quiet["beat"][quiet["beat"].index("--loglevel") + 1] == "WARNING"
