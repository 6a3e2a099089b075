"""The run and test commands' embedded servers: a real PostgreSQL and a Redis that persists nothing."""

import psycopg
import redis

from lfr_governance.launcher import EmbeddedPostgres, EmbeddedRedis, _pick_port


def test_embedded_postgres_and_redis_start_and_stop(tmp_path):
    pg = EmbeddedPostgres(tmp_path / "pgdata", _pick_port(0))
    rd = EmbeddedRedis(tmp_path / "redis", _pick_port(0))
    try:
        url = pg.start()
        with psycopg.connect(url.replace("postgres://", "postgresql://"), connect_timeout=5) as conn:
            assert conn.execute("SELECT current_database()").fetchone()[0] == "lfr"
        client = redis.Redis.from_url(rd.start())
        assert client.ping()
        assert client.config_get("save") == {"save": ""}
        assert client.config_get("appendonly") == {"appendonly": "no"}
    finally:
        rd.stop()
        pg.stop()
    assert not list((tmp_path / "redis").glob("*.rdb")) and not list((tmp_path / "redis").glob("*.aof"))
