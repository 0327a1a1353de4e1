"""What a running app holds: settings, database, storage, job queue and the loaded models.

The methods here are synchronous (database and disk); the API calls them from a thread pool, never on the event
loop.
"""

from __future__ import annotations

import random
import re
import unicodedata
from collections import OrderedDict

from colorize.web import repository
from colorize.web.config import ServeConfig
from colorize.web.db import Comparison, Database, Rating, Result, Vote
from colorize.web.jobs import JobQueue
from colorize.web.processing import StoredOriginal, StoredResult
from colorize.web.ranking import leaderboard
from colorize.web.storage import Storage

#: How many of the latest uploads a blind comparison picks from when the client does not name one.
COMPARISON_POOL = 50


class NotFound(LookupError):
    pass


def display_filename(raw: str | None) -> str:
    """The client's file name reduced to something safe to show: last path component, printable, short."""
    name = re.split(r"[\\/]", raw or "")[-1]
    name = "".join(ch for ch in name if unicodedata.category(ch)[0] != "C").strip()
    return name[:200]


def download_filename(client_name: str, result_id: str) -> str:
    """`<stem>-colorized.png` with only characters that are harmless in a Content-Disposition header."""
    stem = client_name.rsplit(".", 1)[0] if "." in client_name else client_name
    stem = re.sub(r"[^A-Za-z0-9._-]+", "_", stem).strip("._")[:80]
    return f"{stem or result_id[:12]}-colorized.png"


class WebServices:
    def __init__(self, config: ServeConfig, colorizers: list, database: Database, storage: Storage):
        if not colorizers:
            raise ValueError("the web app needs at least one colorizer")
        self.config = config
        self.db = database
        self.storage = storage
        self.colorizers: OrderedDict[str, object] = OrderedDict()
        for colorizer in colorizers:
            name = str(getattr(colorizer, "name", "") or "model")
            if name in self.colorizers:
                raise ValueError(f"two models are called {name!r}; give each checkpoint a distinct file name")
            self.colorizers[name] = colorizer
        self.default_model = next(iter(self.colorizers))
        self.jobs = JobQueue(capacity=config.queue_size, workers=config.workers)
        self.random = random.Random()

    # models -------------------------------------------------------------------------------------------------
    def colorizer(self, name: str | None):
        name = name or self.default_model
        if name not in self.colorizers:
            raise NotFound(f"unknown model {name!r}; installed: {', '.join(self.colorizers)}")
        return self.colorizers[name]

    def model_stats(self) -> list[dict]:
        with self.db.session() as session:
            stats = repository.model_rating_stats(session)
        names = list(self.colorizers) + sorted(set(stats) - set(self.colorizers))
        return [{"name": n, "default": n == self.default_model, "ratings": stats.get(n, {})} for n in names]

    # results ------------------------------------------------------------------------------------------------
    def record_upload(self, original: StoredOriginal, result: StoredResult, client_filename: str) -> Result:
        with self.db.session() as session:
            try:
                return repository.add_upload(session, original, result, display_filename(client_filename))
            except BaseException:
                self.storage.delete(original.file, original.preview_file, result.file, result.preview_file)
                raise

    @staticmethod
    def _existing_result(session, result_id: str) -> Result:
        row = repository.get_result(session, result_id)
        if row is None:
            raise NotFound(f"no result {result_id}")
        return row

    def result(self, result_id: str) -> Result:
        with self.db.session() as session:
            return self._existing_result(session, result_id)

    def recent(self, limit: int, offset: int) -> list[Result]:
        with self.db.session() as session:
            return repository.recent_results(session, min(limit, self.config.recent_limit), offset)

    def add_rating(self, result_id: str, stars: int, comment: str) -> Rating:
        with self.db.session() as session:
            self._existing_result(session, result_id)
            return repository.add_rating(session, result_id, stars, comment.strip())

    def ratings(self, result_id: str) -> list[Rating]:
        with self.db.session() as session:
            self._existing_result(session, result_id)
            return repository.ratings_for(session, result_id)

    # blind comparisons --------------------------------------------------------------------------------------
    def pick_comparison(self, upload_id: str | None) -> tuple[str, str, list[tuple[str, Result | None]]]:
        """Choose an upload and two different models in random order; each model with its existing result, if
        any. Returns (upload id, its original file, [(model, result or None), (model, result or None)])."""
        if len(self.colorizers) < 2:
            raise ValueError("a comparison needs at least two models; start the server with two --checkpoint")
        with self.db.session() as session:
            if upload_id is None:
                candidates = repository.recent_upload_ids(session, COMPARISON_POOL)
                if not candidates:
                    raise NotFound("nothing uploaded yet: upload a photo first")
                upload_id = self.random.choice(candidates)
            upload = repository.get_upload(session, upload_id)
            if upload is None:
                raise NotFound(f"no upload {upload_id}")
            models = self.random.sample(list(self.colorizers), 2)
            sides = [(m, repository.find_result(session, upload.id, m)) for m in models]
            return upload.id, upload.original_file, sides

    def add_result(self, upload_id: str, stored: StoredResult, source: str) -> Result:
        with self.db.session() as session:
            return repository.add_result(session, upload_id, stored, source)

    def add_comparison(self, upload_id: str, left_id: str, right_id: str) -> Comparison:
        with self.db.session() as session:
            return repository.add_comparison(session, upload_id, left_id, right_id)

    def comparison(self, comparison_id: str) -> Comparison:
        with self.db.session() as session:
            row = repository.get_comparison(session, comparison_id)
        if row is None:
            raise NotFound(f"no comparison {comparison_id}")
        return row

    def upload_preview(self, upload_id: str) -> str:
        with self.db.session() as session:
            upload = repository.get_upload(session, upload_id)
        if upload is None:
            raise NotFound(f"no upload {upload_id}")
        return upload.preview_file

    def vote(self, comparison_id: str, winner: str) -> tuple[Vote, Comparison]:
        comparison = self.comparison(comparison_id)
        with self.db.session() as session:
            vote = repository.add_vote(session, comparison_id, winner)
        return vote, comparison

    def leaderboard(self) -> dict:
        with self.db.session() as session:
            outcomes = repository.vote_outcomes(session)
        board = leaderboard(self.colorizers, outcomes)
        return {"method": "bradley-terry", "total_votes": len(outcomes), "models": [s.as_dict() for s in board]}

    # health -------------------------------------------------------------------------------------------------
    def database_status(self) -> str:
        try:
            self.db.ping()
        except Exception as exc:  # noqa: BLE001 - reported, not raised: health must answer
            return f"error: {type(exc).__name__}"
        return "ok"
