"""The web app: upload a gray photo, get it in colour, rate it, compare models blind (FastAPI + SQLAlchemy).

`create_app` is imported on first use, so reading the settings (`colorize --help`) does not load FastAPI.
"""

from colorize.web.config import ExportConfig, ServeConfig

__all__ = ["ExportConfig", "ServeConfig", "create_app"]


def __getattr__(name: str):
    if name == "create_app":
        from colorize.web.app import create_app

        return create_app
    raise AttributeError(f"module 'colorize.web' has no attribute {name!r}")
