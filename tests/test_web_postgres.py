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
from web_support import free_port, tiny_colorizer, upload, with_csrf

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
        result = upload(with_csrf(client))
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
        browser_cookies = dict(client.cookies)

    database = Database(postgres_url)
    tables = set(inspect(database.engine).get_table_names())
    database.dispose()
    assert {"uploads", "results", "ratings", "comparisons", "votes"} <= tables
    assert not (tmp_path / "data" / "colorize.db").exists()

    with TestClient(create_app(config, colorizers=colorizers)) as client:
        with_csrf(client, browser_cookies)  # the same browser comes back
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


# --- migrations ------------------------------------------------------------------------------------------------
def test_release_postgres_database_upgrades_in_place(tmp_path, postgres_url, colorizers):
    from test_web_migrate import check_upgrade_keeps_the_data

    check_upgrade_keeps_the_data(postgres_url, tmp_path, colorizers)


# --- several server processes ----------------------------------------------------------------------------------
def test_two_processes_share_one_database_and_split_the_queue(tmp_path, postgres_url):
    import asyncio
    import subprocess
    import sys
    import time

    import httpx

    from colorize.models import build_generator, save_generator
    from web_support import gray_jpeg, with_csrf

    checkpoint = tmp_path / "tiny.safetensors"
    save_generator(build_generator("pix2pix_unet", num_downs=5, num_filters=8), checkpoint)
    port = free_port()
    url = f"http://127.0.0.1:{port}"
    log = tmp_path / "server.log"
    command = [sys.executable, "-c", "import sys; from colorize.cli import main; sys.exit(main())", "serve",
               "--port", str(port), "--db", postgres_url, "--storage", str(tmp_path / "data"),
               "--checkpoint", str(checkpoint), "--render-size", "64", "--processes", "2", "--queue-size", "2",
               "--workers", "1", "--uploads-per-minute", "0"]
    proc = subprocess.Popen(command, stdout=log.open("wb"), stderr=subprocess.STDOUT,
                            env={**os.environ, "OMP_NUM_THREADS": "1"})
    try:
        deadline = time.monotonic() + 120
        while True:
            assert proc.poll() is None, log.read_text()
            assert time.monotonic() < deadline, log.read_text()
            try:
                health = httpx.get(f"{url}/api/health", timeout=2)
                if health.status_code == 200:
                    break
            except httpx.HTTPError:
                pass
            time.sleep(0.2)
        assert health.json()["queue"]["capacity"] == 1  # each of the 2 processes holds half the queue of 2

        with httpx.Client(base_url=url, timeout=60) as browser:
            with_csrf(browser)
            cookies, headers = dict(browser.cookies), dict(browser.headers)

        async def burst():
            async with httpx.AsyncClient(base_url=url, timeout=60, cookies=cookies, headers=headers) as client:
                return await asyncio.gather(*(
                    client.post("/api/results", files={"file": ("p.jpg", gray_jpeg(i, (480, 640)), "image/jpeg")})
                    for i in range(12)), return_exceptions=True)

        answers = asyncio.run(burst())
        codes = [getattr(a, "status_code", repr(a)) for a in answers]
        assert set(codes) <= {201, 503}, codes
        assert all("retry-after" in a.headers for a in answers if a.status_code == 503)
        created = {a.json()["id"] for a in answers if a.status_code == 201}
        assert created
        # Whichever process answered, the one database holds every acknowledged result for this browser.
        with httpx.Client(base_url=url, timeout=60, cookies=cookies) as client:
            listed = {r["id"] for r in client.get("/api/results?limit=50").json()}
        assert listed == created
    finally:
        proc.terminate()
        proc.wait(30)
