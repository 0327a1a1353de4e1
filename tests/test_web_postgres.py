"""The web app on a real PostgreSQL server: schema on start, data through a restart, no SQLite-only settings.

A throwaway server is started from the local PostgreSQL binaries for this module. PostgreSQL refuses to run as
root, so when the tests run as root (as here and in CI) initdb and pg_ctl run as the unprivileged user `nobody`.
"""

from __future__ import annotations

import glob
import os
import shutil
import subprocess
import tempfile
import uuid
import warnings
from pathlib import Path

import pytest
from sqlalchemy import event, inspect

from colorize.web import ServeConfig, create_app
from colorize.web.db import Database, _configure_sqlite
from web_support import free_port, tiny_colorizer, upload

psycopg = pytest.importorskip("psycopg", reason="the psycopg driver is not installed (pip install 'psycopg[binary]')")

with warnings.catch_warnings():
    warnings.simplefilter("ignore")  # starlette's TestClient warns that it wants httpx2 one day
    from fastapi.testclient import TestClient

UNPRIVILEGED_USER = "nobody"


def _find_postgres_bin() -> Path | None:
    """The folder holding initdb and pg_ctl: on PATH, else the newest Debian-style /usr/lib/postgresql/N/bin."""
    initdb = shutil.which("initdb")
    if initdb and shutil.which("pg_ctl"):
        return Path(initdb).resolve().parent
    candidates = sorted(glob.glob("/usr/lib/postgresql/*/bin"), key=lambda p: int(Path(p).parent.name), reverse=True)
    for folder in candidates:
        if (Path(folder) / "initdb").is_file() and (Path(folder) / "pg_ctl").is_file():
            return Path(folder)
    return None


def _as_server_user() -> list[str]:
    """The command prefix that runs PostgreSQL's tools as a user it accepts (it exits at once when run as root)."""
    if os.geteuid() != 0:
        return []
    runuser = shutil.which("runuser")
    if runuser is None:
        pytest.skip("running as root and `runuser` is missing, so PostgreSQL cannot be started as another user")
    return [runuser, "-u", UNPRIVILEGED_USER, "--"]


@pytest.fixture(scope="module")
def postgres_server():
    """(host, port) of a trust-auth PostgreSQL listening only on 127.0.0.1, stopped at the end of the module."""
    bin_dir = _find_postgres_bin()
    if bin_dir is None:
        pytest.skip("PostgreSQL server binaries (initdb, pg_ctl) not found on PATH or in /usr/lib/postgresql/*/bin")
    prefix = _as_server_user()
    # Not pytest's tmp_path: that lives under a root-only 0700 folder the server user cannot enter.
    root = Path(tempfile.mkdtemp(prefix="colorize-pg-"))
    if prefix:
        shutil.chown(root, user=UNPRIVILEGED_USER)
    data, log, port = root / "data", root / "server.log", free_port()

    def run(*args: str) -> None:
        done = subprocess.run([*prefix, *args], capture_output=True, text=True, timeout=60)
        if done.returncode != 0:
            server_log = log.read_text() if log.exists() else ""
            raise AssertionError(f"{args[0]} failed ({done.returncode}):\n{done.stdout}\n{done.stderr}\n{server_log}")

    # fsync off and no-sync initdb: a throwaway cluster does not need durability, and it saves seconds here.
    run(str(bin_dir / "initdb"), "-D", str(data), "-U", "postgres", "--auth=trust", "--no-sync", "-E", "UTF8",
        "--locale=C")
    options = f"-c listen_addresses=127.0.0.1 -p {port} -k {root} -c fsync=off"
    run(str(bin_dir / "pg_ctl"), "-D", str(data), "-l", str(log), "-o", options, "-w", "-t", "30", "start")
    try:
        yield "127.0.0.1", port
    finally:
        subprocess.run([*prefix, str(bin_dir / "pg_ctl"), "-D", str(data), "-m", "immediate", "-w", "stop"],
                       capture_output=True, timeout=60)
        shutil.rmtree(root, ignore_errors=True)


@pytest.fixture
def postgres_url(postgres_server) -> str:
    """A SQLAlchemy URL to a new, empty database of its own on the module's server."""
    host, port = postgres_server
    name = f"colorize_{uuid.uuid4().hex[:12]}"
    with psycopg.connect(host=host, port=port, user="postgres", dbname="postgres", autocommit=True) as conn:
        conn.execute(f'CREATE DATABASE "{name}"')
    return f"postgresql+psycopg://postgres@{host}:{port}/{name}"


@pytest.fixture(scope="module")
def colorizers():
    return [tiny_colorizer("tiny-a", seed=1), tiny_colorizer("tiny-b", seed=2)]


def test_postgres_gets_no_sqlite_settings(postgres_url):
    database = Database(postgres_url)
    try:
        assert database.engine.dialect.name == "postgresql"
        assert not event.contains(database.engine, "connect", _configure_sqlite)
        assert database.ping()
        assert database.journal_mode() is None
    finally:
        database.dispose()


def test_schema_is_created_and_everything_survives_a_restart(tmp_path, postgres_url, colorizers):
    config = ServeConfig(storage=str(tmp_path / "data"), db=postgres_url)
    with TestClient(create_app(config, colorizers=colorizers)) as client:
        result = upload(client)
        rating = client.post(f"/api/results/{result['id']}/ratings", json={"stars": 4, "comment": "sky is right"})
        assert rating.status_code == 201, rating.text
        pair = client.post("/api/comparisons", json={})
        assert pair.status_code == 201, pair.text
        pair = pair.json()
        vote = client.post(f"/api/comparisons/{pair['id']}/vote", json={"winner": "left"})
        assert vote.status_code == 201, vote.text
        # The unique constraint refuses a second vote on PostgreSQL too, and the session recovers from it.
        assert client.post(f"/api/comparisons/{pair['id']}/vote", json={"winner": "right"}).status_code == 409
        image = client.get(result["urls"]["image"]).content

    database = Database(postgres_url)
    tables = set(inspect(database.engine).get_table_names())
    database.dispose()
    assert {"uploads", "results", "ratings", "comparisons", "votes"} <= tables
    assert not (tmp_path / "data" / "colorize.db").exists()

    with TestClient(create_app(config, colorizers=colorizers)) as client:
        history = client.get("/api/results").json()
        assert [r["id"] for r in history] == [result["id"]]
        assert history[0]["rating"]["last_comment"] == "sky is right"
        ratings = client.get(f"/api/results/{result['id']}/ratings").json()
        assert [(r["stars"], r["comment"]) for r in ratings] == [(4, "sky is right")]
        assert client.get(result["urls"]["image"]).content == image
        leaderboard = client.get("/api/leaderboard").json()
        assert leaderboard["total_votes"] == 1
        assert {m["model"] for m in leaderboard["models"]} == {"tiny-a", "tiny-b"}
        assert client.get(pair["left"]).status_code == 200
