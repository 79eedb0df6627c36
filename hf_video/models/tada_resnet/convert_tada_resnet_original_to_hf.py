"""Original TAda2D checkpoints (TAdaConv repository, EssentialMC2) -> transformers folders.

    python -m hf_video.models.tada_resnet.convert_tada_resnet_original_to_hf \
        --checkpoint_path CKPT --output_dir DIR [--label_set kinetics400 | --id2label labels.json] \
        [--num_frames 8 --image_size 224 --sample_mode interval --sample_interval 8] [--released NAME]

Checkpoints are read with `torch.load(weights_only=True)` only. Depth, widths, route-function kernels and the number
of classes are read off the tensors' shapes. The originals store Conv3d weights with singleton time axes and the
TAdaConv2d weight as (1, 1, C_out, C_in, k, k); our model runs on frames with 2D/1D convolutions whose weights are
the same tensors without those singleton axes. The output folder holds config.json, model.safetensors, the video
processor's config, the modeling code for `trust_remote_code=True`, and a model card (README.md).
"""

import argparse
import re

from ...cards import TADA_RESNET, released_checkpoints_of
from ...clips.clip_settings import RECIPE
from ..converted_folders import (
    add_label_options,
    check_output_dir,
    label_names_of,
    with_label_names,
    write_converted_folder,
)
from ..original_checkpoints import map_state_dict, original_state_dict, read_original_checkpoint
from .configuration_tada_resnet import BOTTLENECK_EXPANSION, TadaResNetConfig
from .modeling_tada_resnet import TadaResNetForVideoClassification
from .weight_names import BLOCK_KEY, CLASSIFIER_KEY, STEM_KEY, TENSOR_NAME, bottleneck_depth, bottleneck_depths_text

RELEASED_CHECKPOINTS = released_checkpoints_of(TADA_RESNET)
# Block parts: original name (inside `backbone.conv<stage>.res_<block>.`) -> ours (the `part` of BLOCK_KEY).
_BLOCK_PARTS = {
    "short_cut": "shortcut.convolution",
    "short_cut_bn": "shortcut.normalization",
    "conv_branch.a": "reduce.convolution",
    "conv_branch.a_bn": "reduce.normalization",
    "conv_branch.b": "tada.convolution",
    "conv_branch.b_rf.g": "tada.route.global_projection",
    "conv_branch.b_rf.a": "tada.route.reduce",
    "conv_branch.b_rf.bn": "tada.route.normalization",
    "conv_branch.b_rf.b": "tada.route.expand",
    "conv_branch.b_bn": "tada.normalization",
    "conv_branch.b_avgpool_bn": "tada.temporal_pool_normalization",
    "conv_branch.c": "expand.convolution",
    "conv_branch.c_bn": "expand.normalization",
}
_STEM_PARTS = {"a": "convolution", "a_bn": "normalization"}
_ORIGINAL_BLOCK_KEY = re.compile(rf"backbone\.conv(\d+)\.res_(\d+)\.(.+)\.{TENSOR_NAME}")
_ORIGINAL_STEM_KEY = re.compile(rf"backbone\.conv1\.(a|a_bn)\.{TENSOR_NAME}")
_ORIGINAL_HEAD_KEY = re.compile(r"head\.out\.(weight|bias)")


def load_original_state_dict(checkpoint_path) -> dict:
    """Read an original checkpoint safely (`weights_only=True`) and return its model state dict, without the
    `module.` prefix that EssentialMC2 (DistributedDataParallel) adds."""
    return original_state_dict(read_original_checkpoint(checkpoint_path), checkpoint_path)


def rename_original_key(key: str) -> str | None:
    """Our name for an original state-dict key, or None if the key is not part of the original TAda2D model."""
    if match := _ORIGINAL_STEM_KEY.fullmatch(key):
        return STEM_KEY.format(part=_STEM_PARTS[match[1]], tensor=match[2])
    if match := _ORIGINAL_BLOCK_KEY.fullmatch(key):
        stage, block, part, tensor = int(match[1]), int(match[2]), match[3], match[4]
        if stage < 2 or block < 1 or part not in _BLOCK_PARTS:
            return None
        return BLOCK_KEY.format(stage=stage - 2, block=block - 1, part=_BLOCK_PARTS[part], tensor=tensor)
    if match := _ORIGINAL_HEAD_KEY.fullmatch(key):
        return CLASSIFIER_KEY.format(tensor=match[1])
    return None


def convert_original_state_dict(original_state_dict: dict, target_state_dict: dict) -> dict:
    """Map every original tensor onto the target model's state dict (`model.state_dict()` of a
    `TadaResNetForVideoClassification`), dropping singleton axes. Raises `ValueError` listing every original key
    left unmapped, every model weight left unfilled and every shape that disagrees."""
    return map_state_dict(original_state_dict, target_state_dict, rename_original_key,
                          "Check depth, widths and number of classes.")


def infer_config_kwargs(original_state_dict: dict) -> dict:
    """TadaResNetConfig arguments read off an original state dict's tensor shapes."""
    def shape(key):
        if key not in original_state_dict:
            raise ValueError(f"the checkpoint has no {key}: it is not an original TAda2D ResNet state dict.")
        return tuple(original_state_dict[key].shape)

    stem = shape("backbone.conv1.a.weight")
    stage_depths, hidden_sizes = [], []
    for stage in range(2, 6):
        blocks = {int(match[1]) for key in original_state_dict
                  if (match := re.fullmatch(rf"backbone\.conv{stage}\.res_(\d+)\.conv_branch\.c\.weight", key))}
        if not blocks or blocks != set(range(1, len(blocks) + 1)):
            raise ValueError(f"stage conv{stage}: expected bottleneck blocks res_1..res_n, found {sorted(blocks)}.")
        stage_depths.append(len(blocks))
        hidden_sizes.append(shape(f"backbone.conv{stage}.res_1.conv_branch.c.weight")[0])
        reduce_width = shape(f"backbone.conv{stage}.res_1.conv_branch.a.weight")[0]
        if reduce_width * BOTTLENECK_EXPANSION != hidden_sizes[-1]:
            raise ValueError(f"stage conv{stage}: bottleneck width {reduce_width} is not its output width "
                             f"{hidden_sizes[-1]} / {BOTTLENECK_EXPANSION}, as the TAda2D ResNets have.")
    depth = bottleneck_depth(stage_depths)
    if depth is None:
        raise ValueError(f"blocks per stage {stage_depths} match no ResNet depth ({bottleneck_depths_text()}).")
    kwargs = dict(depth=depth, stem_width=stem[0], stem_kernel_size=stem[-1], hidden_sizes=hidden_sizes,
                  num_labels=shape("head.out.weight")[0])
    route_reduce = "backbone.conv2.res_1.conv_branch.b_rf.a.weight"
    kwargs["temporal_adaptive"] = route_reduce in original_state_dict
    if kwargs["temporal_adaptive"]:
        reduced, channels, reduce_kernel = shape(route_reduce)[:3]
        expand_kernel = shape("backbone.conv2.res_1.conv_branch.b_rf.b.weight")[2]
        kwargs.update(route_reduction=channels // reduced, route_kernel_sizes=[reduce_kernel, expand_kernel])
    return kwargs


def convert_original_checkpoint(checkpoint_path, output_dir, label_names=None, label_origin=None,
                                released: str | None = None, processor_kwargs=None,
                                **config_overrides) -> TadaResNetForVideoClassification:
    """Convert an original checkpoint into a complete transformers folder at `output_dir` (which must not exist
    or be empty; the folder is written elsewhere and moved into place, so it is complete or absent)."""
    output_dir = check_output_dir(output_dir)
    original = load_original_state_dict(checkpoint_path)
    config_kwargs = with_label_names({**infer_config_kwargs(original), **config_overrides}, label_names, label_origin)
    if released is not None and RELEASED_CHECKPOINTS[released].num_labels != config_kwargs["num_labels"]:
        raise ValueError(f"{released} has {RELEASED_CHECKPOINTS[released].num_labels} classes; {checkpoint_path} "
                         f"has {config_kwargs['num_labels']}: is it the right file?")
    model = TadaResNetForVideoClassification(TadaResNetConfig(**config_kwargs))
    model.load_state_dict(convert_original_state_dict(original, model.state_dict()))
    write_converted_folder(output_dir, model, processor_kwargs or {}, checkpoint_path,
                           RELEASED_CHECKPOINTS.get(released), label_origin)
    return model.eval()


def _parse_arguments(argv=None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0],
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--checkpoint_path", required=True, help="original checkpoint (.pyth / .pth)")
    parser.add_argument("--output_dir", required=True, help="folder to create (must not exist, or be empty)")
    add_label_options(parser)
    parser.add_argument("--num_frames", type=int,
                        help=f"frames per clip the model expects (default {RECIPE.num_frames})")
    parser.add_argument("--image_size", type=int, help=f"input side in pixels (default {RECIPE.image_size})")
    parser.add_argument("--sample_mode", choices=["interval", "segment"], default=RECIPE.sample_mode,
                        help=f"how the video processor picks frames (default {RECIPE.sample_mode})")
    parser.add_argument("--sample_interval", type=int, default=RECIPE.sample_interval,
                        help=f"frame interval at {RECIPE.target_fps} fps (interval mode; default %(default)s)")
    parser.add_argument("--released", choices=sorted(RELEASED_CHECKPOINTS),
                        help="write the model card of this released checkpoint")
    return parser.parse_args(argv)


def main(argv=None):
    arguments = _parse_arguments(argv)
    label_names, label_origin = label_names_of(arguments)
    overrides = {name: getattr(arguments, name) for name in ("num_frames", "image_size")
                 if getattr(arguments, name) is not None}
    model = convert_original_checkpoint(
        arguments.checkpoint_path, arguments.output_dir, label_names, label_origin, arguments.released,
        processor_kwargs={"sample_mode": arguments.sample_mode, "sample_interval": arguments.sample_interval},
        **overrides)
    config = model.config
    print(f"Converted {arguments.checkpoint_path} -> {arguments.output_dir}: TAda ResNet-{config.depth}, "
          f"{config.num_labels} classes, {sum(p.numel() for p in model.parameters()):,} parameters.")


if __name__ == "__main__":
    main()
