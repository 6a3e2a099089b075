"""compose.yaml runs the production shape: the same services as the embedded run."""

import yaml

from tests.conftest import REPO_ROOT


def _compose():
    return yaml.safe_load((REPO_ROOT / "compose.yaml").read_text())


APP_SERVICES = ("web", "worker", "frames-0", "frames-1", "beat")


def test_compose_has_the_services_from_one_image():
    services = _compose()["services"]
    assert set(services) == {"postgres", "redis", *APP_SERVICES}
    app_services = [services[name] for name in APP_SERVICES]
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
    assert set(APP_SERVICES) <= set(chatty) and set(chatty) - set(APP_SERVICES) == {"demo-camera"}
    for name in ("worker", "frames-0", "frames-1"):  # the workers as compose runs them: same queues, one process
        for flag in ("--concurrency", "--queues", "--without-gossip", "--without-mingle"):
            assert flag in chatty[name] and flag in services[name]["command"], (name, flag)
        for flag in ("--concurrency", "--queues"):
            ours, theirs = chatty[name], services[name]["command"]
            assert ours[ours.index(flag) + 1] == theirs[theirs.index(flag) + 1], (name, flag)
    for shard in ("0", "1"):  # the frames workers' role and shard, as the run command sets them
        env = services[f"frames-{shard}"]["environment"]
        assert (env["LFR_WORKER_ROLE"], env["LFR_FRAME_SHARD"], env["LFR_ONNX_THREADS"]) == ("frames", shard, "1")
    assert services["web"]["environment"]["LFR_FRAME_SHARDS"] == "2"
    assert "--access-logfile" in chatty["web"] and "--access-logfile" not in quiet["web"]
    assert chatty["worker"][chatty["worker"].index("--loglevel") + 1] == "INFO"
    assert quiet["worker"][quiet["worker"].index("--loglevel") + 1] == "WARNING"
    assert quiet["beat"][quiet["beat"].index("--loglevel") + 1] == "WARNING"
