"""Starting the server: a busy port and an unreachable database are one-line errors before any model loads;
several processes need a database server; each process gets its share of the limits."""

from __future__ import annotations

import socket

import pytest

from colorize.cli import main
from colorize.web.config import ServeConfig
from colorize.web.serving import per_process
from web_support import free_port


def run_serve(capsys, monkeypatch, *args: str) -> tuple[int, str]:
    # Any model load would be a bug here: the checks come first.
    monkeypatch.setattr("colorize.web.app.load_colorizers",
                        lambda config: pytest.fail("the model was loaded before the startup checks"))
    code = main(["serve", *args])
    return code, capsys.readouterr().err


def test_busy_port_is_one_line_before_the_model_loads(tmp_path, capsys, monkeypatch):
    with socket.socket() as taken:
        taken.bind(("127.0.0.1", 0))
        taken.listen()
        port = taken.getsockname()[1]
        code, err = run_serve(capsys, monkeypatch, "--port", str(port), "--storage", str(tmp_path))
    assert code == 2 and err.count("\n") == 1
    assert f"cannot listen on 127.0.0.1:{port}" in err and "Traceback" not in err


def test_unreachable_database_is_one_line(tmp_path, capsys, monkeypatch):
    with socket.socket() as closed:
        closed.bind(("127.0.0.1", 0))
        port = closed.getsockname()[1]  # bound, never listening: connections are refused
        code, err = run_serve(capsys, monkeypatch, "--port", str(free_port()), "--storage", str(tmp_path),
                              "--db", f"postgresql+psycopg://nobody@127.0.0.1:{port}/nothing")
    assert code == 2 and err.count("\n") == 1
    assert "cannot use the database postgresql+psycopg://nobody@127.0.0.1" in err and "refused" in err


def test_several_processes_refuse_sqlite(tmp_path, capsys, monkeypatch):
    code, err = run_serve(capsys, monkeypatch, "--port", str(free_port()), "--storage", str(tmp_path), "--processes", "2")
    assert code == 2 and "need a database server" in err


def test_each_process_gets_its_share_of_the_limits():
    config = ServeConfig(processes=3, queue_size=8, max_concurrent_uploads=16, uploads_per_minute=12)
    share = per_process(config)
    assert (share.queue_size, share.max_concurrent_uploads, share.uploads_per_minute) == (3, 6, 4)
    assert per_process(ServeConfig()) == ServeConfig()
