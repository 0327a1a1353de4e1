"""Model specs, as commands take them: `default`, `gray`, `mean-ab`, a checkpoint path, or `NAME=` before any of them.

One parser and one naming rule for every command that loads several models (`compare`, `evaluate`, `serve`):
a model is called by its explicit NAME, else by the baseline's or `default`'s name, else by the checkpoint's own
name (its file stem); when two models would share a name, the second becomes `name-2`, the third `name-3`.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, replace
from pathlib import Path

from colorize.inference_options import InferenceOptions

#: Specs that name something other than a file.
DEFAULT = "default"
BASELINE_NAMES = ("gray", "mean-ab")
KEYWORDS = (DEFAULT, *BASELINE_NAMES)


@dataclass(frozen=True)
class ModelSpec:
    source: str  # "default", a baseline name, or a checkpoint path
    name: str | None = None  # given with NAME=...; None: the model's own name

    @property
    def is_baseline(self) -> bool:
        return self.source in BASELINE_NAMES


def parse_model_spec(text: str | Path) -> ModelSpec:
    """`[NAME=]SOURCE`. A file whose own name contains '=' is a path, not a NAME; NAME cannot hold a '/'."""
    text = str(text)
    if "=" in text and not Path(text).exists():
        name, source = text.split("=", 1)
        if not name or "/" in name or not source:
            raise ValueError(f"{text!r}: write NAME=PATH with a name (no '/') and a model after the '='")
        return ModelSpec(source, name)
    return ModelSpec(text)


def unique_names(names: Sequence[str]) -> list[str]:
    """The naming rule: the first model keeps its name, later ones with the same name get -2, -3, ..."""
    taken: set[str] = set()
    unique = []
    for base in names:
        name, n = base, 2
        while name in taken:
            name, n = f"{base}-{n}", n + 1
        taken.add(name)
        unique.append(name)
    return unique


def load_model_spec(spec: ModelSpec, *, mean_ab_data: str | Path | None = None,
                    options: InferenceOptions | None = None):
    """A colorizer (with `name` and `colorize`) for one spec; a model runs with `options` (their checkpoint aside).

    Baselines ignore the options: a constant colour looks the same at any render size, engine or precision.
    """
    from colorize import baselines
    from colorize.infer import Colorizer

    options = options or InferenceOptions()
    if spec.is_baseline:
        colorizer = baselines.build_baseline(spec.source, mean_ab_data)
    elif spec.source == DEFAULT:
        colorizer = Colorizer(options=replace(options, checkpoint=None), name=DEFAULT)
    else:
        path = Path(spec.source)
        if not path.is_file():
            raise FileNotFoundError(
                f"{spec.source}: neither a checkpoint file nor one of {', '.join(KEYWORDS)}"
            )
        colorizer = Colorizer(options=replace(options, checkpoint=path))
    if spec.name:
        colorizer.name = spec.name
    return colorizer


def load_models(specs: Sequence[str | Path], *, mean_ab_data: str | Path | None = None,
                options: InferenceOptions | None = None) -> tuple[list, dict[str, str]]:
    """Colorizers for `specs`, uniquely named by the rule above, and {name: the spec it came from}."""
    parsed = [parse_model_spec(s) for s in specs]
    colorizers = [load_model_spec(p, mean_ab_data=mean_ab_data, options=options) for p in parsed]
    for colorizer, name in zip(colorizers, unique_names([c.name for c in colorizers])):
        colorizer.name = name
    return colorizers, {c.name: str(s) for c, s in zip(colorizers, specs)}
