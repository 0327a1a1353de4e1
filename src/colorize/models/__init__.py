"""Colorization networks: the pix2pix U-Net and PatchGAN, pretrained-encoder U-Nets, and the generator registry."""

from colorize.models.discriminator import PatchDiscriminator
from colorize.models.init import init_weights
from colorize.models.registry import (
    build_generator,
    list_architectures,
    load_model,
    read_generator_file,
    register_architecture,
    save_generator,
)
from colorize.models.unet import UNetGenerator


def __getattr__(name: str):
    # The encoder U-Net pulls in the efficientnet package; import it only when asked for.
    if name == "EncoderUNetGenerator":
        from colorize.models.encoder_unet import EncoderUNetGenerator

        return EncoderUNetGenerator
    raise AttributeError(f"module 'colorize.models' has no attribute {name!r}")


__all__ = [
    "EncoderUNetGenerator",
    "PatchDiscriminator",
    "UNetGenerator",
    "build_generator",
    "init_weights",
    "list_architectures",
    "load_model",
    "read_generator_file",
    "register_architecture",
    "save_generator",
]
