"""The web app's database: schema on start, WAL, restarts, kill -9, export, settings from flags and environment."""

from __future__ import annotations

import csv
import json
import os
import signal
import sqlite3
import subprocess
import sys
import threading
import time
import warnings
from pathlib import Path

import httpx
import pytest
from sqlalchemy import inspect

from colorize.cli import build_parser, main
from colorize.cli._args import config_from_args
from colorize.web import ServeConfig, create_app
from colorize.web.app import parse_checkpoint_spec
from colorize.web.config import ExportConfig, env_overrides, resolve_database_url
from colorize.web.db import Database
from colorize.web import repository
from colorize.web.processing import StoredOriginal, StoredResult
from web_support import free_port, gray_jpeg, tiny_colorizer, upload, with_csrf

with warnings.catch_warnings():
    warnings.simplefilter("ignore")  # starlette's TestClient warns that it wants httpx2 one day
    from fastapi.testclient import TestClient



@pytest.fixture(scope="module")
def colorizers():
    return [tiny_colorizer("tiny-a", seed=1), tiny_colorizer("tiny-b", seed=2)]


# --- schema and restarts ---------------------------------------------------------------------------------------
def test_sqlite_database_is_created_on_start_in_wal_mode(tmp_path, colorizers):
    storage = tmp_path / "fresh" / "data"
    create_app(ServeConfig(storage=str(storage)), colorizers=colorizers)
    db_file = storage / "colorize.db"
    assert db_file.is_file()
    database = Database(f"sqlite:///{db_file}")
    assert database.journal_mode() == "wal"
    assert {"uploads", "results", "ratings", "comparisons", "votes"} <= set(inspect(database.engine).get_table_names())
    database.dispose()


def test_in_memory_sqlite_is_one_database_for_every_thread():
    database = Database("sqlite://")
    database.create_schema()
    tables: list = []
    worker = threading.Thread(target=lambda: tables.extend(inspect(database.engine).get_table_names()))
    worker.start()
    worker.join(30)
    assert {"uploads", "results", "ratings"} <= set(tables)
    database.dispose()


def test_explicit_database_url_is_used(tmp_path, colorizers):
    url = f"sqlite:///{tmp_path / 'elsewhere' / 'ratings.sqlite'}"
    with TestClient(create_app(ServeConfig(storage=str(tmp_path / "data"), db=url), colorizers=colorizers)) as c:
        upload(with_csrf(c))
    assert (tmp_path / "elsewhere" / "ratings.sqlite").is_file()
    assert not (tmp_path / "data" / "colorize.db").exists()


def test_everything_survives_a_restart(tmp_path, colorizers):
    config = ServeConfig(storage=str(tmp_path / "data"))
    with TestClient(create_app(config, colorizers=colorizers)) as client:
        result = upload(with_csrf(client))
        client.post(f"/api/results/{result['id']}/ratings", json={"stars": 4, "comment": "sky is right"})
        pair = client.post("/api/comparisons", json={}).json()
        client.post(f"/api/comparisons/{pair['id']}/vote", json={"winner": "left"})
        image = client.get(result["urls"]["image"]).content
        browser_cookies = dict(client.cookies)

    with TestClient(create_app(config, colorizers=colorizers)) as client:
        with_csrf(client, browser_cookies)  # the same browser comes back
        history = client.get("/api/results").json()
        assert [r["id"] for r in history] == [result["id"]]
        assert history[0]["rating"]["last_comment"] == "sky is right"
        assert client.get(result["urls"]["image"]).content == image
        assert client.get("/api/leaderboard").json()["total_votes"] == 1
        assert client.get(pair["left"]).status_code == 200


def test_one_vote_per_pair_is_enforced_by_the_database(tmp_path):
    database = Database(f"sqlite:///{tmp_path / 'v.db'}")
    database.create_schema()
    original = StoredOriginal(file="aa/x-original.jpg", preview_file="aa/x-preview.jpg", format="JPEG", mode="L",
                              width=4, height=4, num_bytes=10)
    with database.session() as session:
        left = repository.add_upload(session, original, StoredResult("a", "aa/a-result.png", "aa/a-p.jpg", 0.1,
                                                                     "hash-a"), "", "owner")
        right = repository.add_result(session, left.upload_id, StoredResult("b", "aa/b.png", "aa/b.jpg", 0.1,
                                                                            "hash-b"), "comparison")
        comparison = repository.add_comparison(session, left.upload_id, left.id, right.id, "owner",
                                               "aa/l-pair.jpg", "aa/r-pair.jpg")
    with database.session() as first, database.session() as second:
        repository.add_vote(first, comparison, "left", "owner")
        with pytest.raises(repository.AlreadyVoted):
            repository.add_vote(second, comparison, "right", "owner")
    with database.session() as session:
        assert repository.vote_outcomes(session) == [("hash-a", "hash-b", "left")]
    database.dispose()


# --- kill -9 ---------------------------------------------------------------------------------------------------
def _start_server(checkpoint: Path, storage: Path, log: Path) -> tuple[subprocess.Popen, str]:
    port = free_port()
    env = {**os.environ, "OMP_NUM_THREADS": "1"}
    command = [sys.executable, "-c", "import sys; from colorize.cli import main; sys.exit(main())", "serve",
               "--host", "127.0.0.1", "--port", str(port), "--storage", str(storage),
               "--checkpoint", str(checkpoint), "--render-size", "64", "--ratings-per-minute", "0"]
    proc = subprocess.Popen(command, stdout=log.open("ab"), stderr=subprocess.STDOUT, env=env)
    url = f"http://127.0.0.1:{port}"
    deadline = time.monotonic() + 120
    while time.monotonic() < deadline:
        if proc.poll() is not None:
            raise AssertionError(f"server exited with {proc.returncode}:\n{log.read_text()}")
        try:
            if httpx.get(f"{url}/api/health", timeout=2).status_code == 200:
                return proc, url
        except httpx.HTTPError:
            pass
        time.sleep(0.2)
    proc.kill()
    raise AssertionError(f"server did not start:\n{log.read_text()}")


def test_acknowledged_ratings_survive_kill_9(tmp_path):
    from colorize.models import build_generator, save_generator

    checkpoint = tmp_path / "tiny.safetensors"
    save_generator(build_generator("pix2pix_unet", num_downs=5, num_filters=8), checkpoint)
    storage, log = tmp_path / "data", tmp_path / "server.log"

    proc, url = _start_server(checkpoint, storage, log)
    acknowledged: dict[int, tuple[int, str]] = {}
    lock = threading.Lock()
    connection_lost = threading.Event()
    try:
        with httpx.Client(base_url=url, timeout=60) as owner:
            result = with_csrf(owner).post("/api/results", files={"file": ("p.jpg", gray_jpeg(1), "image/jpeg")}).json()
            browser_cookies = dict(owner.cookies)

        def rate(worker: int) -> None:
            with httpx.Client(base_url=url, timeout=10) as client:
                with_csrf(client, browser_cookies)
                for i in range(10_000):  # bounded; the kill ends it long before
                    body = {"stars": 1 + (i + worker) % 5, "comment": f"worker {worker} rating {i}"}
                    try:
                        response = client.post(f"/api/results/{result['id']}/ratings", json=body)
                    except httpx.HTTPError:
                        connection_lost.set()
                        return
                    if response.status_code == 201:
                        with lock:
                            acknowledged[response.json()["id"]] = (body["stars"], body["comment"])

        raters = [threading.Thread(target=rate, args=(w,)) for w in range(8)]
        for thread in raters:
            thread.start()
        deadline = time.monotonic() + 60
        while len(acknowledged) < 80 and time.monotonic() < deadline:
            time.sleep(0.02)
        os.kill(proc.pid, signal.SIGKILL)  # mid-traffic: eight clients are still posting
        proc.wait(30)
        for thread in raters:
            thread.join(30)
    finally:
        if proc.poll() is None:
            proc.kill()
    assert connection_lost.is_set(), "the clients never saw the server die"
    assert len(acknowledged) >= 80, log.read_text()

    proc, url = _start_server(checkpoint, storage, log)
    try:
        client = with_csrf(httpx.Client(base_url=url, timeout=30), browser_cookies)
        stored = client.get(f"/api/results/{result['id']}/ratings").json()
        by_id = {r["id"]: (r["stars"], r["comment"]) for r in stored}
        missing = set(acknowledged) - set(by_id)
        assert not missing, f"{len(missing)} acknowledged ratings lost"
        assert all(by_id[k] == v for k, v in acknowledged.items())
        assert client.post(f"/api/results/{result['id']}/ratings", json={"stars": 5}).status_code == 201
        client.close()
    finally:
        proc.terminate()
        proc.wait(30)
    with sqlite3.connect(storage / "colorize.db") as conn:
        assert conn.execute("PRAGMA integrity_check").fetchone()[0] == "ok"


# --- export ----------------------------------------------------------------------------------------------------
def _populated_storage(tmp_path, colorizers) -> Path:
    storage = tmp_path / "data"
    with TestClient(create_app(ServeConfig(storage=str(storage)), colorizers=colorizers)) as client:
        first, second = upload(with_csrf(client), 1), upload(client, 2)
        client.post(f"/api/results/{first['id']}/ratings", json={"stars": 5, "comment": 'say "cheese", ok'})
        client.post(f"/api/results/{second['id']}/ratings", json={"stars": 2, "comment": "=1+1"})
        for winner in ("left", "tie"):
            pair = client.post("/api/comparisons", json={}).json()
            client.post(f"/api/comparisons/{pair['id']}/vote", json={"winner": winner})
    return storage


def test_export_ratings_writes_csv_and_json(tmp_path, colorizers, capsys):
    storage = _populated_storage(tmp_path, colorizers)
    assert main(["export-ratings", "--storage", str(storage), "--out", str(tmp_path / "csv")]) == 0
    assert "wrote 2 ratings" in capsys.readouterr().out
    with (tmp_path / "csv" / "ratings.csv").open(newline="") as fh:
        ratings = list(csv.DictReader(fh))
    # A comment that a spreadsheet would run as a formula is written as text; the JSON export keeps it as is.
    assert [(r["stars"], r["comment"], r["model"]) for r in ratings] == [
        ("5", 'say "cheese", ok', "tiny-a"), ("2", "'=1+1", "tiny-a")]
    with (tmp_path / "csv" / "votes.csv").open(newline="") as fh:
        votes = list(csv.DictReader(fh))
    assert [v["winner"] for v in votes] == ["left", "tie"]
    assert {votes[0]["left_model"], votes[0]["right_model"]} == {"tiny-a", "tiny-b"}
    assert votes[0]["winner_model"] == votes[0]["left_model"] and votes[1]["winner_model"] == ""

    assert main(["export-ratings", "--db", f"sqlite:///{storage / 'colorize.db'}", "--format", "json",
                 "--out", str(tmp_path / "json")]) == 0
    as_json = json.loads((tmp_path / "json" / "ratings.json").read_text())
    assert [(r["stars"], r["comment"]) for r in as_json] == [(5, 'say "cheese", ok'), (2, "=1+1")]
    assert len(json.loads((tmp_path / "json" / "votes.json").read_text())) == 2


def test_export_from_a_missing_database_is_a_clear_error(tmp_path, capsys):
    assert main(["export-ratings", "--storage", str(tmp_path / "nowhere"), "--out", str(tmp_path / "o")]) == 2
    assert "no database there" in capsys.readouterr().err
    assert not (tmp_path / "nowhere").exists()


# --- settings --------------------------------------------------------------------------------------------------
def test_serve_settings_come_from_environment_and_flags_win(monkeypatch):
    monkeypatch.setenv("COLORIZE_DB", "postgresql+psycopg://colorize@db/colorize")
    monkeypatch.setenv("COLORIZE_MAX_UPLOAD_MB", "5")
    monkeypatch.setenv("COLORIZE_PORT", "9000")
    monkeypatch.setenv("COLORIZE_CHECKPOINT", "a.safetensors, b=runs/b.pt")
    args = build_parser().parse_args(["serve", "--port", "8123"])
    config = config_from_args(ServeConfig, args, checkpoint=tuple(env_overrides(ServeConfig)["checkpoint"]))
    assert config.db == "postgresql+psycopg://colorize@db/colorize" and config.database_url == config.db
    assert config.max_upload_mb == 5.0 and config.max_upload_bytes == 5 * 1024 * 1024
    assert config.port == 8123  # the flag beats COLORIZE_PORT
    assert config.checkpoint == ("a.safetensors", "b=runs/b.pt")


def test_bad_environment_value_is_reported_by_the_command(monkeypatch, capsys):
    monkeypatch.setenv("COLORIZE_QUEUE_SIZE", "lots")
    assert main(["serve"]) == 2
    assert "COLORIZE_QUEUE_SIZE='lots'" in capsys.readouterr().err


def test_checkpoint_option_repeats_and_names_models(tmp_path):
    args = build_parser().parse_args(["serve", "--checkpoint", "a.safetensors", "--checkpoint", "best=b.pt", "c.pt"])
    assert args.checkpoint == ["a.safetensors", "best=b.pt", "c.pt"]
    assert parse_checkpoint_spec("best=b.pt") == ("best", "b.pt")
    assert parse_checkpoint_spec("runs/x=1/g.safetensors") == (None, "runs/x=1/g.safetensors")
    odd = tmp_path / "lr=0.1.safetensors"
    odd.touch()
    assert parse_checkpoint_spec(str(odd)) == (None, str(odd))


def test_invalid_settings_are_refused():
    for kwargs, message in [({"max_upload_mb": 0}, "max_upload_mb"), ({"queue_size": 0}, "queue_size"),
                            ({"workers": 0}, "workers"), ({"port": 70000}, "port")]:
        with pytest.raises(ValueError, match=message):
            ServeConfig(**kwargs)
    assert resolve_database_url("", "/srv/data") == "sqlite:////srv/data/colorize.db"
    assert ExportConfig(db="sqlite:///x.db").database_url == "sqlite:///x.db"


def test_missing_checkpoint_file_is_a_clear_error(tmp_path, capsys):
    assert main(["serve", "--storage", str(tmp_path), "--checkpoint", str(tmp_path / "nope.safetensors")]) == 2
    assert "nope.safetensors: no such checkpoint file" in capsys.readouterr().err
