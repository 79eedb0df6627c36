"""The authors' TAda2D checkpoints (TAdaConv repository, EssentialMC2) -> transformers folders.

    python -m hf_video.models.tada_resnet.convert_tada_resnet_original_to_hf \
        --checkpoint_path CKPT --output_dir DIR [--original_config CONFIG.yaml | --released NAME] [--ema] \
        [--label_set kinetics400 | --id2label labels.json] [--num_frames 8 --image_size 224 --sample_interval 8]

The command line and the order of settings are every family's (hf_video.models.original_conversion). Checkpoints are
read with `torch.load(weights_only=True)` only, in either layout (TAdaConv's `model_state`, EssentialMC2's
`state_dict` with DistributedDataParallel's `module.` prefix). Depth, widths, stem kernel, route-function kernels and
reduction and the number of classes are read off the tensors' shapes; the frames, crop size and sampling from a
preset, the authors' configuration or the options (else the recipe's). The originals store Conv3d weights with
singleton time axes and the TAdaConv2d weight as (1, 1, C_out, C_in, k, k); our model runs on frames with 2D/1D
convolutions whose weights are the same tensors without those singleton axes. The output folder holds config.json,
model.safetensors, the video processor's config, the modeling code for `trust_remote_code=True`, and a model card.
"""

import re
import warnings

from ..model_families import TADA_RESNET
from ..original_checkpoints import map_state_dict, original_state_dict, read_original_checkpoint
from ..original_configs import config_value
from ..original_conversion import FamilyConversion, command_line, convert_checkpoint
from .configuration_tada_resnet import BOTTLENECK_EXPANSION, TadaResNetConfig
from .modeling_tada_resnet import TadaResNetForVideoClassification
from .weight_names import BLOCK_KEY, CLASSIFIER_KEY, STEM_KEY, TENSOR_NAME, bottleneck_depth, bottleneck_depths_text

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


# What the authors' TAda2D configurations state beyond the weights' shapes: our name -> their key.
ORIGINAL_CONFIG_KEYS = {
    "depth": "VIDEO.BACKBONE.DEPTH", "route_reduction": "VIDEO.BACKBONE.BRANCH.ROUTE_FUNC_R",
    "route_kernel_sizes": "VIDEO.BACKBONE.BRANCH.ROUTE_FUNC_K", "classifier_dropout": "VIDEO.HEAD.DROPOUT_RATE",
    "num_labels": "VIDEO.HEAD.NUM_CLASSES", "num_frames": "DATA.NUM_INPUT_FRAMES", "image_size": "DATA.TRAIN_CROP_SIZE",
}


def facts_of_combined_keys(config: dict) -> dict:
    """Settings the authors' configuration states inside lists: NUM_FILTERS is the stem's width, then each stage's;
    POOL_K the temporal pooling's (T, H, W) kernel."""
    facts = {}
    filters = config_value(config, "VIDEO.BACKBONE.NUM_FILTERS")
    if isinstance(filters, list) and len(filters) == 5:
        facts.update(stem_width=filters[0], hidden_sizes=list(filters[1:]))
    pool = config_value(config, "VIDEO.BACKBONE.BRANCH.POOL_K")
    if isinstance(pool, list) and pool:
        facts["temporal_pool_kernel_size"] = pool[0]
    return facts


CONVERSION = FamilyConversion(
    family=TADA_RESNET, config_class=TadaResNetConfig, model_class=TadaResNetForVideoClassification,
    infer_config_kwargs=infer_config_kwargs, convert_state_dict=convert_original_state_dict,
    architecture=("ResNet3D", "TAda2DBlock"), config_keys=ORIGINAL_CONFIG_KEYS, extra_facts=facts_of_combined_keys)


def convert_tada_resnet_checkpoint(checkpoint_path, output_dir, original_config=None, released=None, use_ema=False,
                                   label_names=None, label_origin=None, processor_kwargs=None,
                                   **config_overrides) -> TadaResNetForVideoClassification:
    """Convert an authors' TAda2D checkpoint into a complete transformers folder at `output_dir` (which must not
    exist or be empty; the folder is written elsewhere and moved into place, so it is complete or absent)."""
    return convert_checkpoint(CONVERSION, checkpoint_path, output_dir, original_config, released, use_ema,
                              label_names, label_origin, processor_kwargs, **config_overrides)


def convert_original_checkpoint(checkpoint_path, output_dir, **kwargs) -> TadaResNetForVideoClassification:
    """The former name of `convert_tada_resnet_checkpoint` (keyword arguments only after the two paths: the order of
    the others changed)."""
    warnings.warn("convert_original_checkpoint is now convert_tada_resnet_checkpoint; the old name will be removed.",
                  FutureWarning, stacklevel=2)
    return convert_tada_resnet_checkpoint(checkpoint_path, output_dir, **kwargs)


def main(argv=None):
    return command_line(CONVERSION, __doc__.split("\n\n")[0], argv)


if __name__ == "__main__":
    main()
