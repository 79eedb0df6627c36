"""The authors' TAdaConvNeXtV2 checkpoints (alibaba-mmai-research/TAdaConv) -> transformers folders.

    python -m hf_video.models.tada_convnext_v2.convert_tada_convnext_v2_original_to_hf \
        --checkpoint_path CKPT --output_dir DIR [--original_config CONFIG.yaml | --released NAME] [--ema] \
        [--label_set kinetics400 | --id2label labels.json] [--num_frames 16 --image_size 224 ...]

Checkpoints are read with `torch.load(weights_only=True)` only, in the authors' layout (`model_state`, or the EMA
weights `model_ema_state` with --ema; with or without DistributedDataParallel's `module.` prefix). Depths, widths,
stem kernel, route-function reduction and kernels, bias calibration and the number of classes are read off the
tensors' shapes. What no shape shows comes, in rising precedence, from a `--released` preset, from the configuration
the authors' code stores in its checkpoints (`cfg`, a YAML text), from `--original_config` (one of the authors' YAML
files; `_BASE_`, `_BASE_RUN` and `_BASE_MODEL` files are followed relative to it), and from the options here: the
route functions' attention head size, the stem's temporal stride, the frame count, crop size, sampling and
normalisation of the clips, the layer-scale, drop-path and dropout settings. The head size has no default: a wrong one
gives wrong outputs, so the converter asks for it.

The output folder holds config.json, model.safetensors, the video processor's config, the modeling code for
`trust_remote_code=True`, and a model card (README.md).
"""

import re

from ..model_families import TADA_CONVNEXT_V2
from ..original_checkpoints import map_state_dict
from ..original_conversion import FamilyConversion, command_line, convert_checkpoint
from .configuration_tada_convnext_v2 import TadaConvNextV2Config
from .modeling_tada_convnext_v2 import TadaConvNextV2ForVideoClassification

# The authors' stem stride (every configuration of theirs), when nothing states it; the clip's mean and std default
# to the recipe's, which are also theirs (0.45, 0.225).
AUTHORS_STEM_TEMPORAL_STRIDE = 2

_TENSOR = r"(weight|bias)"
# Block parts: original name (inside `backbone.stages.<stage>.<block>.`) -> ours (inside `...layers.<block>.`).
_BLOCK_PARTS = {
    "dwconv": "dwconv",
    "dwconv_rf.a": "route.reduce",
    "dwconv_rf.norm": "route.normalization",
    "dwconv_rf.norm_transformer": "route.attention_normalization",
    "dwconv_rf.qkv_proj": "route.qkv",
    "dwconv_rf.attn_out": "route.attention_output",
    "dwconv_rf.b": "route.expand",
    "dwconv_rf.b_bias": "route.expand_bias",
    "norm": "layernorm",
    "norm_avgpool": "temporal_pool_layernorm",
    "pwconv1": "pwconv1",
    "pwconv2": "pwconv2",
}
_ORIGINAL_BLOCK_KEY = re.compile(rf"backbone\.stages\.(\d+)\.(\d+)\.(.+)\.{_TENSOR}")
_ORIGINAL_LAYER_SCALE_KEY = re.compile(r"backbone\.stages\.(\d+)\.(\d+)\.gamma")
_ORIGINAL_DOWNSAMPLING_KEY = re.compile(rf"backbone\.downsample_layers\.(\d+)\.([01])\.{_TENSOR}")
_ORIGINAL_OTHER_KEYS = {
    "backbone.norm.weight": "tada_convnext_v2.layernorm.weight",
    "backbone.norm.bias": "tada_convnext_v2.layernorm.bias",
    "head.out.weight": "classifier.weight",
    "head.out.bias": "classifier.bias",
}
_PREFIX = "tada_convnext_v2"


def rename_original_key(key: str) -> str | None:
    """Our name for an original state-dict key, or None if the key is not part of a TAdaConvNeXtV2."""
    if key in _ORIGINAL_OTHER_KEYS:
        return _ORIGINAL_OTHER_KEYS[key]
    if match := _ORIGINAL_LAYER_SCALE_KEY.fullmatch(key):
        return f"{_PREFIX}.encoder.stages.{match[1]}.layers.{match[2]}.layer_scale_parameter"
    if match := _ORIGINAL_BLOCK_KEY.fullmatch(key):
        part = _BLOCK_PARTS.get(match[3])
        return None if part is None else f"{_PREFIX}.encoder.stages.{match[1]}.layers.{match[2]}.{part}.{match[4]}"
    if match := _ORIGINAL_DOWNSAMPLING_KEY.fullmatch(key):
        stage, part, tensor = int(match[1]), int(match[2]), match[3]
        if stage == 0:
            return f"{_PREFIX}.embeddings.{('patch_embeddings', 'layernorm')[part]}.{tensor}"
        return f"{_PREFIX}.encoder.stages.{stage}.downsampling_layer.{part}.{tensor}"
    return None


def convert_original_state_dict(original: dict, target_state_dict: dict) -> dict:
    """Map every original tensor onto a `TadaConvNextV2ForVideoClassification` state dict, dropping singleton axes;
    a `ValueError` lists whatever is left over, missing or of another shape."""
    return map_state_dict(original, target_state_dict, rename_original_key,
                          "Check depths, widths, route settings and number of classes.")


def infer_config_kwargs(original: dict) -> dict:
    """TadaConvNextV2Config arguments read off an authors' state dict's tensor shapes."""
    def shape(key):
        if key not in original:
            raise ValueError(f"the checkpoint has no {key}: it is not a TAdaConvNeXtV2 state dict (the authors' "
                             "ConvNeXt backbone with TAdaConvNeXtV2Block branches).")
        return tuple(original[key].shape)

    depths, hidden_sizes = [], []
    for stage in range(4):
        blocks = {int(match[1]) for key in original
                  if (match := re.fullmatch(rf"backbone\.stages\.{stage}\.(\d+)\.dwconv\.weight", key))}
        if not blocks or blocks != set(range(len(blocks))):
            raise ValueError(f"stage {stage}: expected blocks 0..n-1 with a dwconv, found {sorted(blocks)}: not a "
                             "TAdaConvNeXtV2 state dict.")
        depths.append(len(blocks))
        hidden_sizes.append(shape(f"backbone.stages.{stage}.0.dwconv.weight")[2])
    stem = shape("backbone.downsample_layers.0.0.weight")
    kwargs = dict(depths=depths, hidden_sizes=hidden_sizes, num_channels=stem[1], stem_temporal_kernel_size=stem[2],
                  num_labels=shape("head.out.weight")[0])
    route = "backbone.stages.0.0.dwconv_rf"
    kwargs["temporal_adaptive"] = f"{route}.a.weight" in original
    if kwargs["temporal_adaptive"]:
        reduced, channels, reduce_kernel = shape(f"{route}.a.weight")[:3]
        kwargs.update(route_reduction=channels // reduced,
                      route_kernel_sizes=[reduce_kernel, shape(f"{route}.b.weight")[2]],
                      bias_calibration=f"{route}.b_bias.weight" in original)
    if "backbone.stages.0.0.gamma" not in original:
        kwargs["layer_scale_init_value"] = 0.0
    return kwargs


# What the authors' configurations state beyond the weights' shapes: our name -> their key.
ORIGINAL_CONFIG_KEYS = {
    "route_head_dim": "VIDEO.BACKBONE.BRANCH.HEAD_DIM", "stem_temporal_stride": "VIDEO.BACKBONE.STEM.T_STRIDE",
    "stem_temporal_kernel_size": "VIDEO.BACKBONE.STEM.T_KERNEL_SIZE", "depths": "VIDEO.BACKBONE.DEPTH",
    "hidden_sizes": "VIDEO.BACKBONE.NUM_FILTERS", "route_reduction": "VIDEO.BACKBONE.BRANCH.ROUTE_FUNC_R",
    "route_kernel_sizes": "VIDEO.BACKBONE.BRANCH.ROUTE_FUNC_K",
    "layer_scale_init_value": "VIDEO.BACKBONE.LARGE_SCALE_INIT_VALUE", "drop_path_rate": "VIDEO.BACKBONE.DROP_PATH",
    "classifier_dropout": "VIDEO.HEAD.DROPOUT_RATE", "num_labels": "VIDEO.HEAD.NUM_CLASSES",
    "num_frames": "DATA.NUM_INPUT_FRAMES", "image_size": "DATA.TRAIN_CROP_SIZE",
}


def check_route_head_dim(settings: dict, shapes: dict, checkpoint_path) -> None:
    """The route functions' attention head size is in no shape, and a wrong one gives wrong outputs: it must be
    stated."""
    if shapes["temporal_adaptive"] and settings.get("route_head_dim") is None:
        raise ValueError(f"{checkpoint_path}: the route functions' attention head size is not in the weights' shapes, "
                         "and a wrong one gives wrong outputs. Give the authors' configuration (--original_config "
                         "CONFIG.yaml, VIDEO.BACKBONE.BRANCH.HEAD_DIM), a --released preset, or --route_head_dim "
                         "(the authors use 48 for T and S, 64 for B).")


CONVERSION = FamilyConversion(
    family=TADA_CONVNEXT_V2, config_class=TadaConvNextV2Config, model_class=TadaConvNextV2ForVideoClassification,
    infer_config_kwargs=infer_config_kwargs, convert_state_dict=convert_original_state_dict,
    architecture=("ConvNeXt", "TAdaConvNeXtV2Block"), config_keys=ORIGINAL_CONFIG_KEYS,
    authors_defaults={"stem_temporal_stride": AUTHORS_STEM_TEMPORAL_STRIDE}, check_settings=check_route_head_dim,
    options=(("route_head_dim", "channels per route attention head (T, S: 48; B: 64)"),))


def convert_tada_convnext_v2_checkpoint(checkpoint_path, output_dir, original_config=None, released=None,
                                        use_ema=False, label_names=None, label_origin=None, processor_kwargs=None,
                                        **config_overrides) -> TadaConvNextV2ForVideoClassification:
    """Convert an authors' TAdaConvNeXtV2 checkpoint into a complete transformers folder at `output_dir` (which must
    not exist or be empty; the folder is written elsewhere and moved into place, so it is complete or absent)."""
    return convert_checkpoint(CONVERSION, checkpoint_path, output_dir, original_config, released, use_ema,
                              label_names, label_origin, processor_kwargs, **config_overrides)


def main(argv=None):
    return command_line(CONVERSION, __doc__.split("\n\n")[0], argv)


if __name__ == "__main__":
    main()
