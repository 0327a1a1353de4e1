"""User colour hints in the web app: reading them from a request, their canonical stored form, and a served model
that colours with them.

The checks are the library's (`colorize.hints`): this module only names which hint of the request is wrong, and
refuses hints for a model that does not take them before any work is queued. A result is identified by
(upload, weights hash, `hints_key`): the key of no hints is "" (an automatic result), so the same hints find the
same result again and different ones make a new one.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

from colorize.hints import Hint, as_hint, check_hints, hint_to_mapping

#: The key of an automatic (unguided) result.
AUTOMATIC = ""


class HintError(ValueError):
    """The request's hints cannot be used; the message says which and why (the API answers 422)."""


def takes_hints(colorizer: object) -> bool:
    return bool(getattr(colorizer, "takes_hints", False))


def read_hints(items: Any, model_name: str, colorizer: object) -> list[Hint]:
    """The request's hints (a JSON list) as `Hint`s, each checked for form, and refused for a model without hints;
    HintError otherwise. Their number and positions are checked against the photo by `check_hints_fit`."""
    if items is None:
        return []
    if not isinstance(items, list):
        raise HintError('hints must be a JSON list of {"x", "y", "color", "radius"?} objects')
    hints = []
    for index, item in enumerate(items, start=1):
        try:
            hints.append(as_hint(item))
        except ValueError as exc:
            raise HintError(f"hint {index}: {exc}") from exc
    if hints and not takes_hints(colorizer):
        raise HintError(f"the model {model_name!r} does not take colour hints; colorize without hints")
    return hints


def read_hints_text(text: str | None, model_name: str, colorizer: object) -> list[Hint]:
    """`read_hints` for a multipart form field holding the list as JSON text (empty: no hints)."""
    if not text or not text.strip():
        return []
    try:
        items = json.loads(text)
    except json.JSONDecodeError as exc:
        raise HintError(f"hints is not valid JSON ({exc.msg})") from exc
    return read_hints(items, model_name, colorizer)


def check_hints_fit(hints: Sequence[Hint], width: int, height: int) -> None:
    """HintError for too many hints or one off the `width` x `height` photo (as displayed)."""
    try:
        check_hints(hints, width, height)
    except ValueError as exc:
        raise HintError(str(exc)) from exc


def stored_hints(hints: Sequence[Hint]) -> list[dict] | None:
    """The hints as the database and the API keep them (None: automatic), in the order given: a later hint that
    overlaps an earlier one wins, so order is part of what was asked."""
    return [hint_to_mapping(h) for h in hints] or None


def hints_key(hints: Sequence[Hint]) -> str:
    """SHA-256 of the canonical JSON of the hints; "" for none. Equal hints (however written: '#C03020',
    '192,48,32', [192, 48, 32], 120 or 120.0) give equal keys."""
    canonical = stored_hints(hints)
    if canonical is None:
        return AUTOMATIC
    text = json.dumps(canonical, sort_keys=True, separators=(",", ":"))
    return hashlib.sha256(text.encode()).hexdigest()


@dataclass(frozen=True)
class HintedModel:
    """A served model (processing.ServedModel) that colours with `hints`: what a job is given instead of the
    model itself, with the same `name`, `weights_sha256` and `colorize(image)`."""

    served: Any
    hints: tuple[Hint, ...]

    @property
    def name(self) -> str:
        return self.served.name

    @property
    def weights_sha256(self) -> str:
        return self.served.weights_sha256

    def colorize(self, image):
        # The upload's size after EXIF rotation is known only once decoded: check here, before the model runs.
        check_hints_fit(self.hints, *image.size)
        return self.served.colorizer.colorize(image, hints=list(self.hints))


def with_hints(served: Any, hints: Sequence[Hint]) -> Any:
    """What a job colours with: `served` itself for no hints, else the HintedModel that applies them."""
    return HintedModel(served, tuple(hints)) if hints else served
