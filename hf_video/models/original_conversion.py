"""The converter every TAda family shares: an authors' checkpoint into a complete transformers folder, with one
command line for all three families. Each family gives a `FamilyConversion`: its key renames, what its tensors'
shapes show, the keys of the authors' configurations, and the settings no shape shows.

What no shape shows comes, in rising precedence, from the family's defaults (the authors' own), a `--released`
preset, the configuration the authors' code stores in its checkpoints (`cfg`), `--original_config` (one of their YAML
files), and the options. A setting the shapes show that anything else contradicts is an error naming its source.

    python -m hf_video.models.<family>.convert_<family>_original_to_hf --checkpoint_path CKPT --output_dir DIR \
        [--original_config CONFIG.yaml | --released NAME] [--ema] [--label_set kinetics400 | --id2label FILE] \
        [--num_frames 16 --image_size 224 --sample_mode segment --sample_interval 4] [family options]
"""

import argparse
from collections.abc import Callable
from dataclasses import dataclass, field

from ..clips.clip_settings import RECIPE
from .converted_folders import add_label_options, check_output_dir, label_names_of, with_label_names, \
    write_converted_folder
from .model_families import ModelFamily
from .original_checkpoints import original_state_dict, read_original_checkpoint
from .original_configs import combined_settings, config_value, read_original_config, sampling_mode, stated_values, \
    stored_config
from .released_checkpoints import RELEASED_CHECKPOINTS

# What every family's configurations state the same way: our processor setting -> the authors' key.
ORIGINAL_PROCESSOR_KEYS = {"image_mean": "DATA.MEAN", "image_std": "DATA.STD", "sample_interval": "DATA.SAMPLING_RATE"}


@dataclass(frozen=True)
class FamilyConversion:
    """What one family gives the shared converter."""

    family: ModelFamily
    config_class: type
    model_class: type
    infer_config_kwargs: Callable  # the authors' state dict -> config kwargs its shapes show
    convert_state_dict: Callable  # (the authors' state dict, our model's state dict) -> our state dict
    architecture: tuple  # the authors' (VIDEO.BACKBONE.META_ARCH, VIDEO.BACKBONE.BRANCH.NAME) of this family
    config_keys: dict  # our config setting -> the authors' dotted key
    authors_defaults: dict = field(default_factory=dict)  # config settings every configuration of theirs has
    processor_defaults: dict = field(default_factory=dict)  # processor settings the family's authors use
    extra_facts: Callable = lambda config: {}  # authors' configuration -> config kwargs a key does not state alone
    check_settings: Callable = lambda settings, shapes, checkpoint_path: None  # refuses what would give wrong outputs
    options: tuple = ()  # (name, help) of the family's own integer options, which set config settings

    @property
    def released(self) -> dict:
        return {name: checkpoint for name, checkpoint in RELEASED_CHECKPOINTS.items()
                if checkpoint.family is self.family}


def facts_from_original_config(conversion: FamilyConversion, config: dict, origin: str) -> tuple[dict, dict]:
    """(config kwargs, processor kwargs) that an authors' configuration states beyond the weights' shapes; a
    configuration of another architecture is refused."""
    meta_arch = config_value(config, "VIDEO.BACKBONE.META_ARCH")
    branch = config_value(config, "VIDEO.BACKBONE.BRANCH.NAME")
    if (meta_arch, branch) != conversion.architecture and (meta_arch or branch):
        expected_arch, expected_branch = conversion.architecture
        raise ValueError(f"{origin} describes a {meta_arch} with {branch} blocks, not a {conversion.family.name} "
                         f"({expected_arch} with {expected_branch}): is it the configuration of this checkpoint?")
    model = {**stated_values(config, conversion.config_keys), **conversion.extra_facts(config)}
    processor = {**stated_values(config, ORIGINAL_PROCESSOR_KEYS), **sampling_mode(config, origin)}
    return model, processor


def conversion_settings(conversion: FamilyConversion, checkpoint: dict, checkpoint_path, original,
                        original_config=None, released=None, config_overrides=None,
                        processor_overrides=None) -> tuple[dict, dict]:
    """(config kwargs, video processor kwargs) of a conversion: the shapes, then the preset, the checkpoint's stored
    configuration, `original_config` and the overrides, each over the ones before."""
    shapes = conversion.infer_config_kwargs(original)
    sources = []
    if released is not None:
        preset = conversion.released[released]
        if preset.num_labels != shapes["num_labels"]:
            raise ValueError(f"{released} has {preset.num_labels} classes; {checkpoint_path} has "
                             f"{shapes['num_labels']}: is it the right file?")
        sources.append((f"--released {released}", preset.preset()))
    stored = stored_config(checkpoint, checkpoint_path)
    if stored is not None:
        origin = f"the configuration stored in {checkpoint_path}"
        sources.append((origin, facts_from_original_config(conversion, stored, origin)))
    if original_config is not None:
        facts = facts_from_original_config(conversion, read_original_config(original_config), str(original_config))
        sources.append((str(original_config), facts))
    model, processor = combined_settings(shapes, conversion.authors_defaults, sources, config_overrides,
                                         processor_overrides)
    conversion.check_settings(model, shapes, checkpoint_path)
    return model, {**conversion.processor_defaults, **processor}


def convert_checkpoint(conversion: FamilyConversion, checkpoint_path, output_dir, original_config=None, released=None,
                       use_ema=False, label_names=None, label_origin=None, processor_kwargs=None, **config_overrides):
    """An authors' checkpoint of the family as a complete transformers folder at `output_dir` (which must not exist
    or be empty; the folder is written elsewhere and moved into place, so it is complete or absent). Returns the
    model, in eval mode."""
    if released is not None and released not in conversion.released:
        raise ValueError(f"released={released!r}: not a released {conversion.family.name} checkpoint; choose one of "
                         f"{', '.join(sorted(conversion.released))}.")
    output_dir = check_output_dir(output_dir)
    checkpoint = read_original_checkpoint(checkpoint_path)
    original = original_state_dict(checkpoint, checkpoint_path, use_ema=use_ema)
    config_kwargs, processor_settings = conversion_settings(
        conversion, checkpoint, checkpoint_path, original, original_config, released, config_overrides,
        processor_kwargs)
    model = conversion.model_class(conversion.config_class(**with_label_names(config_kwargs, label_names,
                                                                              label_origin)))
    model.load_state_dict(conversion.convert_state_dict(original, model.state_dict()))
    write_converted_folder(output_dir, model, processor_settings, checkpoint_path,
                           conversion.released.get(released), label_origin)
    return model.eval()


CLIP_OPTIONS = {"num_frames": "frames per clip the model expects",
                "image_size": "input side in pixels (a TAdaFormer's is in its position embedding's shape)"}
PROCESSOR_OPTIONS = ("sample_mode", "sample_interval")


def parse_arguments(conversion: FamilyConversion, description: str, argv=None) -> argparse.Namespace:
    """The command line every family's converter takes, plus the family's own options."""
    parser = argparse.ArgumentParser(description=description, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--checkpoint_path", required=True, help="the authors' checkpoint (.pyth / .pth)")
    parser.add_argument("--output_dir", required=True, help="folder to create (must not exist, or be empty)")
    parser.add_argument("--original_config", help="the authors' YAML configuration of the checkpoint")
    parser.add_argument("--released", choices=sorted(conversion.released),
                        help="a checkpoint of the authors' zoo: its settings and model card")
    parser.add_argument("--ema", action="store_true", help="convert the EMA weights (model_ema_state)")
    add_label_options(parser)
    for name, help_text in (*CLIP_OPTIONS.items(), *conversion.options):
        parser.add_argument(f"--{name}", type=int, help=help_text)
    parser.add_argument("--sample_mode", choices=["interval", "segment"], help="how the processor picks frames")
    parser.add_argument("--sample_interval", type=int,
                        help=f"frame interval at {RECIPE.target_fps:g} fps (interval mode)")
    return parser.parse_args(argv)


def command_line(conversion: FamilyConversion, description: str, argv=None):
    """Parse the options, convert, and print what was written."""
    arguments = parse_arguments(conversion, description, argv)
    label_names, label_origin = label_names_of(arguments)
    given = {name: value for name, value in vars(arguments).items() if value is not None}
    overrides = {name: given[name] for name in (*CLIP_OPTIONS, *(name for name, _ in conversion.options))
                 if name in given}
    model = convert_checkpoint(conversion, arguments.checkpoint_path, arguments.output_dir, arguments.original_config,
                               arguments.released, arguments.ema, label_names, label_origin,
                               {name: given[name] for name in PROCESSOR_OPTIONS if name in given}, **overrides)
    config = model.config
    print(f"Converted {arguments.checkpoint_path} -> {arguments.output_dir}: "
          f"{conversion.family.architecture(config)}, {config.num_labels} classes, "
          f"{sum(p.numel() for p in model.parameters()):,} parameters.")
    return model
