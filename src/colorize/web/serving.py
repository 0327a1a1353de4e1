"""Run the app under uvicorn: check the port and the database before anything slow, then serve with one
process, or several (`processes`) sharing one listening socket and one database server.

The listening socket is bound first, so a busy port is a one-line error before the model loads; then the
database is reached and migrated once, so an unreachable --db is a one-line error too. Several processes each
hold their own share of the queue, the concurrent-upload cap and the rate limits (ceil(total / processes)), so
the totals hold across the processes: a client is never queued beyond what one server would have allowed.
"""

from __future__ import annotations

import base64
import dataclasses
import math
import os
import pickle
import socket

from sqlalchemy.exc import SQLAlchemyError

from colorize.web.config import ServeConfig

#: Where the parent hands each worker process its settings.
CONFIG_ENV = "COLORIZE_SERVE_CONFIG_PICKLE"


class StartupError(ValueError):
    """A reason the server cannot start, said in one line."""


def bind_socket(host: str, port: int) -> socket.socket:
    family = socket.AF_INET6 if ":" in host else socket.AF_INET
    sock = socket.socket(family, socket.SOCK_STREAM)
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    try:
        sock.bind((host, port))
    except OSError as exc:
        sock.close()
        raise StartupError(f"cannot listen on {host}:{port}: {exc.strerror or exc} (is another server running "
                           f"there? choose another --port)") from None
    sock.set_inheritable(True)
    return sock


def prepare_database(config: ServeConfig) -> str:
    """Reach the database and bring its schema up to date; returns its description for the log."""
    from colorize.web.db import Database

    database = Database(config.database_url)
    try:
        database.create_schema()
    except SQLAlchemyError as exc:
        first_line = str(getattr(exc, "orig", None) or exc).strip().splitlines()[0]
        raise StartupError(f"cannot use the database {database.describe()}: {first_line}") from None
    finally:
        database.dispose()
    return database.describe()


def per_process(config: ServeConfig) -> ServeConfig:
    """Each process's share of the limits that must hold for the whole server."""
    n = config.processes
    if n == 1:
        return config
    return dataclasses.replace(
        config, queue_size=math.ceil(config.queue_size / n),
        max_concurrent_uploads=math.ceil(config.max_concurrent_uploads / n),
        uploads_per_minute=config.uploads_per_minute / n, ratings_per_minute=config.ratings_per_minute / n,
        votes_per_minute=config.votes_per_minute / n)


def app_from_environment():
    """The app of one worker process, from the settings the parent put in the environment (uvicorn factory)."""
    from colorize.web.app import create_app

    # Pickled by our own parent process a moment ago (nested option dataclasses survive, unlike JSON).
    config = pickle.loads(base64.b64decode(os.environ[CONFIG_ENV]))
    return create_app(config)


def serve(config: ServeConfig) -> None:
    import uvicorn

    if config.processes > 1 and config.database_url.startswith("sqlite"):
        raise StartupError("several --processes need a database server (e.g. --db postgresql+psycopg://...); "
                           "SQLite is for one process")
    sock = bind_socket(config.host, config.port)
    try:
        describe = prepare_database(config)
        options = {"log_level": "info", "timeout_graceful_shutdown": 10}
        if config.processes == 1:
            from colorize.web.app import create_app

            app = create_app(config)
            print(f"colorize: serving {', '.join(app.state.services.colorizers)} on "
                  f"http://{config.host}:{config.port} (database {describe}, storage "
                  f"{app.state.services.storage.root})", flush=True)
            uvicorn.Server(uvicorn.Config(app, **options)).run(sockets=[sock])
            return
        os.environ[CONFIG_ENV] = base64.b64encode(pickle.dumps(per_process(config))).decode()
        print(f"colorize: serving on http://{config.host}:{config.port} with {config.processes} processes "
              f"(database {describe})", flush=True)
        uvicorn_config = uvicorn.Config("colorize.web.serving:app_from_environment", factory=True,
                                        workers=config.processes, **options)
        from uvicorn.supervisors import Multiprocess

        Multiprocess(uvicorn_config, sockets=[sock]).run()
    finally:
        sock.close()
