"""colorize: turn black-and-white photos into colour ones.

The model sees the L (lightness) channel of a photo in CIE L*a*b and predicts the a and b colour channels.
`from colorize import Colorizer, colorize_image, InferenceOptions` gives the inference API; those names are
imported on first use, so `import colorize` (and `colorize --help`) does not load torch.
"""

__version__ = "0.1.0"

#: Public name -> the module that defines it.
_LAZY_EXPORTS = {
    "Colorizer": "colorize.infer",
    "colorize_image": "colorize.infer",
    "InferenceOptions": "colorize.inference_options",
}

__all__ = ["__version__", *_LAZY_EXPORTS]


def __getattr__(name: str):
    if name in _LAZY_EXPORTS:
        import importlib

        value = getattr(importlib.import_module(_LAZY_EXPORTS[name]), name)
        globals()[name] = value  # later lookups skip this function
        return value
    raise AttributeError(f"module 'colorize' has no attribute {name!r}")


def __dir__() -> list[str]:
    return sorted(set(globals()) | set(_LAZY_EXPORTS))
