"""What a running app holds: settings, database, storage, job queue and the loaded models.

Every read and write is on behalf of an owner (the hash of a browser's owner token, owner.py): a row that belongs
to someone else is reported as not found, so ids cannot be probed. The synchronous methods (database and disk) run
in a thread pool, never on the event loop; the async ones await the job queue.
"""

from __future__ import annotations

import asyncio
import random
import re
import secrets
import time
import unicodedata
from collections import OrderedDict
from dataclasses import dataclass
from datetime import timedelta
from urllib.parse import quote

from starlette.concurrency import run_in_threadpool

from colorize.hints import Hint
from colorize.web import repository
from colorize.web.config import ServeConfig
from colorize.web.db import SOURCE_COMPARISON, SOURCE_GUIDED, Comparison, Database, Rating, Result, Vote, utcnow
from colorize.web.hinting import check_hints_fit, hints_key, read_hints, stored_hints, takes_hints, with_hints
from colorize.web.identity import weights_sha256
from colorize.web.jobs import JobQueue
from colorize.web.processing import ServedModel, StoredOriginal, StoredResult, megapixels, process_stored
from colorize.web.ranking import leaderboard
from colorize.web.ratelimit import RateLimiter
from colorize.web.repository import AlreadyColorized
from colorize.web.storage import Storage

#: How many of the owner's latest uploads a blind comparison picks from when the client does not name one.
COMPARISON_POOL = 50
#: Colouring again with hints may run this many times faster than uploads (`uploads_per_minute`): the page asks
#: after each edit, about once a second while someone works on a photo, and only new hints count.
RECOLORIZE_RATE_FACTOR = 5
#: Files younger than this are never orphans: their upload may still be on its way into the database.
ORPHAN_GRACE = timedelta(hours=1)
#: Browsers send `"`, CR and LF in a multipart file name as these escapes (HTML's form encoding); nothing else.
_FORM_ESCAPES = {"%22": '"', "%0D": "\r", "%0A": "\n"}


class NotFound(LookupError):
    pass


class NotServed(LookupError):
    """The model that made a result is no longer installed, so it cannot colour that upload again."""


@dataclass(frozen=True)
class Recolorization:
    """What a request for the upload behind a result, coloured with these hints, resolved to: the existing result,
    or what a job needs to make it."""

    upload_id: str
    original_file: str
    model: ServedModel
    hints: tuple[Hint, ...]
    existing: Result | None


def display_filename(raw: str | None) -> str:
    """The client's file name reduced to something safe to show: last path component, printable, short."""
    name = re.sub(r"%(22|0D|0A)", lambda m: _FORM_ESCAPES[m.group(0)], raw or "", flags=re.IGNORECASE)
    name = re.split(r"[\\/]", name)[-1]
    name = "".join(ch for ch in name if unicodedata.category(ch)[0] != "C").strip()
    return name[:200]


def download_filename(client_name: str, result_id: str) -> str:
    """`<the user's own name>-colorized.png`; the header encoding is `content_disposition`'s job."""
    stem = client_name.rsplit(".", 1)[0] if "." in client_name else client_name
    stem = stem.strip(" .")[:120]
    return f"{stem or result_id[:12]}-colorized.png"


def content_disposition(filename: str) -> str:
    """RFC 6266: an ASCII `filename` for old clients and the exact name, UTF-8 percent-encoded, in `filename*`."""
    # Accents fall off (é -> e); any other character becomes "_", keeping the name's shape.
    ascii_name = "".join(unicodedata.normalize("NFKD", ch).encode("ascii", "ignore").decode() or "_"
                         for ch in filename)
    ascii_name = re.sub(r'[^A-Za-z0-9 ._()&#,+-]', "_", ascii_name).strip() or "colorized.png"
    return f"attachment; filename=\"{ascii_name}\"; filename*=UTF-8''{quote(filename, safe='')}"


class WebServices:
    def __init__(self, config: ServeConfig, colorizers: list, database: Database, storage: Storage):
        if not colorizers:
            raise ValueError("the web app needs at least one colorizer")
        self.config = config
        self.db = database
        self.storage = storage
        self.colorizers: OrderedDict[str, ServedModel] = OrderedDict()
        for colorizer in colorizers:
            name = str(getattr(colorizer, "name", "") or "model")
            if name in self.colorizers:
                raise ValueError(f"two models are called {name!r}; give each checkpoint a distinct file name")
            self.colorizers[name] = ServedModel(name, weights_sha256(colorizer), colorizer)
        self.default_model = next(iter(self.colorizers))
        self.jobs = JobQueue(capacity=config.queue_size, workers=config.workers)
        self.random = random.Random()
        #: Per client address: new guided results a minute (each one is a colorization and two stored files).
        self.recolorize_limit = RateLimiter(config.uploads_per_minute * RECOLORIZE_RATE_FACTOR)
        self._inflight: dict[tuple[str, str, str], asyncio.Future] = {}

    # models -------------------------------------------------------------------------------------------------
    def colorizer(self, name: str | None) -> ServedModel:
        name = name or self.default_model
        if name not in self.colorizers:
            raise NotFound(f"unknown model {name!r}; installed: {', '.join(self.colorizers)}")
        return self.colorizers[name]

    def model_stats(self) -> list[dict]:
        with self.db.session() as session:
            stats = repository.model_rating_stats(session)
            guided = repository.model_rating_stats(session, guided=True)
            names = repository.model_names(session)
        served = {m.weights_sha256: m.name for m in self.colorizers.values()}
        hashes = list(served) + sorted((set(stats) | set(guided)) - set(served))
        return [{"name": served.get(h) or names.get(h, h), "model_hash": h, "served": h in served,
                 "default": h == self.colorizers[self.default_model].weights_sha256,
                 "takes_hints": h in served and takes_hints(self.colorizers[served[h]].colorizer),
                 "ratings": stats.get(h, {}), "guided_ratings": guided.get(h, {})}
                for h in hashes]

    def served_by_hash(self, model_hash: str) -> ServedModel:
        for model in self.colorizers.values():
            if model.weights_sha256 == model_hash:
                return model
        raise NotServed("the model that made this result is no longer installed on this server")

    # results ------------------------------------------------------------------------------------------------
    def record_upload(self, original: StoredOriginal, result: StoredResult, client_filename: str,
                      owner: str, hints: tuple[Hint, ...] = ()) -> Result:
        with self.db.session() as session:
            try:
                return repository.add_upload(session, original, result, display_filename(client_filename), owner,
                                             stored_hints(hints), hints_key(hints))
            except BaseException:
                self.storage.delete(original.file, original.preview_file, result.file, result.preview_file)
                raise

    @staticmethod
    def _owned_result(session, result_id: str, owner: str) -> Result:
        row = repository.get_result(session, result_id)
        if row is None or row.upload.owner is None or row.upload.owner != owner:
            raise NotFound(f"no result {result_id}")
        return row

    def result(self, result_id: str, owner: str) -> Result:
        with self.db.session() as session:
            return self._owned_result(session, result_id, owner)

    def shared_result(self, share_token: str) -> Result:
        with self.db.session() as session:
            row = repository.get_shared_result(session, share_token)
        if row is None:
            raise NotFound("no such shared result (the link is wrong, or the owner deleted the photo)")
        return row

    def share(self, result_id: str, owner: str) -> Result:
        """Give the result a share token (once); anyone with the link can then see it, read-only."""
        with self.db.session() as session:
            row = self._owned_result(session, result_id, owner)
            if row.share_token is None:
                row.share_token = secrets.token_hex(16)
                session.commit()
            return self._owned_result(session, result_id, owner)

    def recent(self, owner: str, limit: int, offset: int) -> list[Result]:
        with self.db.session() as session:
            return repository.recent_results(session, owner, limit, offset)

    def delete_result(self, result_id: str, owner: str) -> int:
        """Delete the result's upload and everything made from it, rows first, then files; returns files removed."""
        with self.db.session() as session:
            row = self._owned_result(session, result_id, owner)
            files = repository.delete_uploads(session, [row.upload_id])
        self.storage.delete(*files)
        return len(files)

    def add_rating(self, result_id: str, owner: str, stars: int, comment: str) -> Rating:
        with self.db.session() as session:
            row = self._owned_result(session, result_id, owner)
            return repository.add_rating(session, row, stars, comment.strip(), owner)

    def ratings(self, result_id: str, owner: str) -> list[Rating]:
        with self.db.session() as session:
            self._owned_result(session, result_id, owner)
            return repository.ratings_for(session, result_id)

    # blind comparisons --------------------------------------------------------------------------------------
    def pick_comparison(self, upload_id: str | None, owner: str
                        ) -> tuple[str, str, list[tuple[ServedModel, Result | None]]]:
        """Choose one of the owner's uploads and two different models in random order; each model with its
        existing result, if any. Returns (upload id, its original file, [(model, result or None)] * 2)."""
        if len(self.colorizers) < 2:
            raise ValueError("a comparison needs at least two models; start the server with two --checkpoint")
        with self.db.session() as session:
            if upload_id is None:
                candidates = repository.recent_upload_ids(session, owner, COMPARISON_POOL)
                if not candidates:
                    raise NotFound("nothing uploaded yet: upload a photo first")
                upload_id = self.random.choice(candidates)
            upload = repository.get_upload(session, upload_id)
            if upload is None or upload.owner is None or upload.owner != owner:
                raise NotFound(f"no upload {upload_id}")
            models = self.random.sample(list(self.colorizers.values()), 2)
            sides = [(m, repository.find_result(session, upload.id, m.weights_sha256)) for m in models]
            return upload.id, upload.original_file, sides

    # guided results --------------------------------------------------------------------------------------------
    def prepare_recolorization(self, result_id: str, owner: str, items) -> Recolorization:
        """The owner's result `result_id` asked for again with the hints `items` (the request's JSON list) by the
        model that made it: checked (HintError, NotFound, NotServed) before anything is written."""
        with self.db.session() as session:
            row = self._owned_result(session, result_id, owner)
            model = self.served_by_hash(row.model_hash)
            hints = tuple(read_hints(items, model.name, model.colorizer))
            check_hints_fit(hints, row.upload.width, row.upload.height)
            existing = repository.find_result(session, row.upload_id, model.weights_sha256, hints_key(hints))
            return Recolorization(row.upload_id, row.upload.original_file, model, hints, existing)

    async def ensure_result(self, upload_id: str, original_file: str, model: ServedModel,
                            hints: tuple[Hint, ...] = ()) -> Result:
        """The upload coloured by `model` with `hints`: made once however many requests ask at the same time (in
        this process by sharing one task, across processes by the database's unique (upload, model hash, hints)
        index)."""
        key = (upload_id, model.weights_sha256, hints_key(hints))
        task = self._inflight.get(key)
        if task is None:
            task = asyncio.ensure_future(self._colorize_stored(upload_id, original_file, model, hints))
            self._inflight[key] = task
            task.add_done_callback(lambda _: self._inflight.pop(key, None))
        # shield: one impatient client going away must not cancel the work the others wait for.
        return await asyncio.shield(task)

    async def _colorize_stored(self, upload_id: str, original_file: str, model: ServedModel,
                               hints: tuple[Hint, ...]) -> Result:
        cost = await run_in_threadpool(self.storage_megapixels, original_file)
        stored = await self.jobs.run(process_stored, original_file, with_hints(model, hints), self.storage,
                                     self.config.max_pixels, cost=cost)
        return await run_in_threadpool(self._record_result, upload_id, stored, hints)

    def storage_megapixels(self, name: str) -> float:
        return megapixels(self.storage.path(name))

    def _record_result(self, upload_id: str, stored: StoredResult, hints: tuple[Hint, ...] = ()) -> Result:
        # An automatic result made here is a blind comparison's second model (or the owner removing every hint).
        source = SOURCE_GUIDED if hints else SOURCE_COMPARISON
        with self.db.session() as session:
            try:
                return repository.add_result(session, upload_id, stored, source, stored_hints(hints),
                                             hints_key(hints))
            except AlreadyColorized as exc:  # another server process got there first: keep its result
                self.storage.delete(stored.file, stored.preview_file)
                return exc.existing

    def pair_images(self, left: Result, right: Result) -> tuple[str, str]:
        left_file = self.storage.save_pair_image(left.image_file)
        try:
            return left_file, self.storage.save_pair_image(right.image_file)
        except BaseException:
            self.storage.delete(left_file)
            raise

    def add_comparison(self, upload_id: str, left: Result, right: Result, owner: str,
                       files: tuple[str, str]) -> Comparison:
        with self.db.session() as session:
            try:
                return repository.add_comparison(session, upload_id, left.id, right.id, owner, *files)
            except BaseException:
                self.storage.delete(*files)
                raise

    def comparison(self, comparison_id: str, owner: str) -> Comparison:
        with self.db.session() as session:
            row = repository.get_comparison(session, comparison_id)
        if row is None or row.owner is None or row.owner != owner:
            raise NotFound(f"no comparison {comparison_id}")
        return row

    def vote(self, comparison_id: str, winner: str, owner: str) -> tuple[Vote, Comparison]:
        comparison = self.comparison(comparison_id, owner)
        with self.db.session() as session:
            vote = repository.add_vote(session, comparison, winner, owner)
        return vote, comparison

    def leaderboard(self) -> dict:
        with self.db.session() as session:
            outcomes = repository.vote_outcomes(session)
            names = repository.model_names(session)
        names.update({m.weights_sha256: m.name for m in self.colorizers.values()})
        board = leaderboard([m.weights_sha256 for m in self.colorizers.values()], outcomes, names=names)
        return {"method": "bradley-terry", "total_votes": len(outcomes), "confidence": 0.95,
                "models": [s.as_dict() for s in board]}

    # retention ----------------------------------------------------------------------------------------------
    def cleanup(self, retention_days: float, orphan_grace: timedelta = ORPHAN_GRACE) -> dict:
        """Delete uploads older than `retention_days` (0: keep them) with everything made from them, then files
        that no row names (left by interrupted uploads) once they are older than `orphan_grace`."""
        expired = 0
        removed = 0
        if retention_days > 0:
            cutoff = utcnow() - timedelta(days=retention_days)
            while True:
                with self.db.session() as session:
                    batch = repository.uploads_before(session, cutoff)
                    if not batch:
                        break
                    files = repository.delete_uploads(session, batch)
                self.storage.delete(*files)
                expired += len(batch)
                removed += len(files)
        with self.db.session() as session:
            referenced = repository.referenced_files(session)
        oldest = time.time() - orphan_grace.total_seconds()
        orphans = 0
        for name, path in self.storage.files():
            if name not in referenced and path.stat().st_mtime < oldest:
                path.unlink(missing_ok=True)
                orphans += 1
        return {"expired_uploads": expired, "files_removed": removed, "orphans_removed": orphans}

    # health -------------------------------------------------------------------------------------------------
    def database_status(self) -> str:
        try:
            self.db.ping()
        except Exception as exc:  # noqa: BLE001 - reported, not raised: health must answer
            return f"error: {type(exc).__name__}"
        return "ok"
