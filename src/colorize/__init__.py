"""colorize: turn black-and-white photos into colour ones.

The model sees the L (lightness) channel of a photo in CIE L*a*b and predicts the a and b colour channels.
"""

__version__ = "0.1.0"
