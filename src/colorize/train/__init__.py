"""Training: `Trainer(TrainConfig(...)).fit()`; see `colorize.train.trainer` for what a run does.

TrainConfig and TrainResult import without torch; Trainer and train() load the training machinery on first use.
"""

from colorize.train.config import TrainConfig, TrainResult


def __getattr__(name: str):
    if name in ("Trainer", "train"):
        from colorize.train import trainer

        return getattr(trainer, name)
    raise AttributeError(f"module 'colorize.train' has no attribute {name!r}")


__all__ = ["TrainConfig", "TrainResult", "Trainer", "train"]
