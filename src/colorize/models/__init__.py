"""Colorization networks: the pix2pix U-Net and PatchGAN, pretrained-encoder U-Nets, and their registries.

Importing this package registers the built-in networks (each module registers its classes where they are defined);
unet comes first so that `list_architectures()` starts with pix2pix_unet.
"""

from colorize.models.unet import UNetGenerator  # noqa: I001 (registration order)
from colorize.models.encoder_unet import EncoderUNetGenerator
from colorize.models.discriminator import PatchDiscriminator
from colorize.models.projected import ProjectedDiscriminator
from colorize.models.generator_file import load_model, read_generator_file, save_generator
from colorize.models.init import init_weights
from colorize.models.protocols import (
    ColourClassGenerator,
    Discriminator,
    FreezableEncoder,
    Generator,
    HintFreeStart,
    predicts_classes,
)
from colorize.models.registry import (
    build_discriminator,
    build_generator,
    discriminator_options,
    generator_options,
    list_architectures,
    list_discriminators,
    register_architecture,
    register_discriminator,
    register_generator,
)
from colorize.models.wrappers import unwrap_model

__all__ = [
    "Discriminator",
    "EncoderUNetGenerator",
    "FreezableEncoder",
    "Generator",
    "HintFreeStart",
    "ColourClassGenerator",
    "predicts_classes",
    "PatchDiscriminator",
    "ProjectedDiscriminator",
    "UNetGenerator",
    "build_discriminator",
    "build_generator",
    "discriminator_options",
    "generator_options",
    "init_weights",
    "list_architectures",
    "list_discriminators",
    "load_model",
    "read_generator_file",
    "register_architecture",
    "register_discriminator",
    "register_generator",
    "save_generator",
    "unwrap_model",
]
