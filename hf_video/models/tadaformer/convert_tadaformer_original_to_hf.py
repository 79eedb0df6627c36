"""The authors' TAdaFormer checkpoints (alibaba-mmai-research/TAdaConv) -> transformers folders.

    python -m hf_video.models.tadaformer.convert_tadaformer_original_to_hf \
        --checkpoint_path CKPT --output_dir DIR [--original_config CONFIG.yaml | --released NAME] [--ema] \
        [--label_set kinetics400 | --id2label labels.json] [--num_attention_heads 12 --num_frames 16 ...]

Checkpoints are read with `torch.load(weights_only=True)` only, in the authors' layout (`model_state`, or the EMA
weights `model_ema_state` with --ema; with or without DistributedDataParallel's `module.` prefix). Width, depth, patch
and tubelet sizes, the MLP width, the TAda blocks' reductions, kernels and variants (temporally enhanced, two per
layer), the projection and the number of classes are read off the tensors' shapes. What no shape shows comes, in
rising precedence, from a `--released` preset, from the configuration the authors' code stores in its checkpoints,
from `--original_config` (one of the authors' YAML files; `_BASE`, `_BASE_RUN` and `_BASE_MODEL` files are followed
relative to it), and from the options here: the number of attention heads, the tubelet's temporal stride, the frame
count, sampling and normalisation of the clips, the dropout settings. The number of heads has no default: a wrong
one gives wrong outputs, so the converter asks for it. nn.MultiheadAttention's packed input projection is split into
the q, k and v projections of transformers' attention.

The output folder holds config.json, model.safetensors, the video processor's config (CLIP's mean and std unless the
configuration says otherwise), the modeling code for `trust_remote_code=True`, and a model card (README.md).
"""

import math
import re

from ..model_families import TADAFORMER
from ..original_checkpoints import map_state_dict
from ..original_configs import config_value
from ..original_conversion import FamilyConversion, command_line, convert_checkpoint
from .configuration_tadaformer import CLIP_MEAN, CLIP_STD, TadaFormerConfig
from .modeling_tadaformer import TadaFormerForVideoClassification

# The authors' tubelet stride (every configuration of theirs), when nothing states it.
AUTHORS_TUBELET_STRIDE = 2
# CLIP's normalisation, which the authors' TAdaFormer configurations use; their models sample segment-based.
PROCESSOR_DEFAULTS = {"image_mean": CLIP_MEAN, "image_std": CLIP_STD, "sample_mode": "segment"}

_TENSOR = r"(weight|bias)"
# Parts of a layer: original name (inside `backbone.layers.<i>.`) -> ours (inside `...encoder.layers.<i>.`).
_TADA_PARTS = {
    "tada_pre_proj": "down",
    "tadaconv": "conv",
    "tadaconv.rf_func.a": "route.reduce",
    "tadaconv.rf_func.norm": "route.normalization",
    "tadaconv.rf_func.norm_transformer": "route.attention_normalization",
    "tadaconv.rf_func.qkv_proj": "route.qkv",
    "tadaconv.rf_func.attn_out": "route.attention_output",
    "tadaconv.rf_func.b": "route.expand",
    "tadaconv.rf_func.b_bias": "route.expand_bias",
    "tadaconv.bn_a": "normalization",
    "tadaconv.bn_b": "temporal_pool_normalization",
    "tada_proj": "up",
}
_LAYER_PARTS = {
    "attn.out_proj": "self_attn.out_proj",
    "ln_1": "layer_norm1",
    "mlp.c_fc": "mlp.fc1",
    "mlp.c_proj": "mlp.fc2",
    "ln_2": "layer_norm2",
}
_BATCH_NORM_TENSOR = r"(weight|bias|running_mean|running_var|num_batches_tracked)"
_ORIGINAL_TADA_KEY = re.compile(rf"backbone\.layers\.(\d+)\.(tada2?)\.(.+)\.{_BATCH_NORM_TENSOR}")
_ORIGINAL_LAYER_KEY = re.compile(rf"backbone\.layers\.(\d+)\.(.+)\.{_TENSOR}")
_ORIGINAL_IN_PROJECTION_KEY = re.compile(r"backbone\.layers\.(\d+)\.attn\.in_proj_(weight|bias)")
_PREFIX = "tadaformer"
_ORIGINAL_OTHER_KEYS = {
    "backbone.conv1.weight": f"{_PREFIX}.embeddings.patch_embedding.weight",
    "backbone.class_embedding": f"{_PREFIX}.embeddings.class_embedding",
    "backbone.positional_embedding": f"{_PREFIX}.embeddings.position_embedding.weight",
    "backbone.ln_pre.weight": f"{_PREFIX}.embeddings.pre_layernorm.weight",
    "backbone.ln_pre.bias": f"{_PREFIX}.embeddings.pre_layernorm.bias",
    "backbone.ln_post.weight": f"{_PREFIX}.post_layernorm.weight",
    "backbone.ln_post.bias": f"{_PREFIX}.post_layernorm.bias",
    "head.out.weight": "classifier.weight",
    "head.out.bias": "classifier.bias",
}


def rename_original_key(key: str) -> str | None:
    """Our name for an original state-dict key, or None if the key is not part of a TAdaFormer (the packed attention
    projection and the backbone's `proj` are split or transposed by `split_original_tensors` first)."""
    if key in _ORIGINAL_OTHER_KEYS:
        return _ORIGINAL_OTHER_KEYS[key]
    if match := _ORIGINAL_TADA_KEY.fullmatch(key):
        part = _TADA_PARTS.get(match[3])
        return None if part is None else f"{_PREFIX}.encoder.layers.{match[1]}.{match[2]}.{part}.{match[4]}"
    if match := _ORIGINAL_LAYER_KEY.fullmatch(key):
        part = _LAYER_PARTS.get(match[2])
        return None if part is None else f"{_PREFIX}.encoder.layers.{match[1]}.{part}.{match[3]}"
    return None


def split_original_tensors(original: dict) -> dict:
    """The original state dict with nn.MultiheadAttention's packed `in_proj_weight` / `in_proj_bias` split into our
    q, k and v projections (already under our names), and the backbone's `proj` (features x output, applied as
    x @ proj) as our projection layer's weight (output x features)."""
    split = {}
    for key, tensor in original.items():
        if match := _ORIGINAL_IN_PROJECTION_KEY.fullmatch(key):
            for name, part in zip(("q_proj", "k_proj", "v_proj"), tensor.chunk(3, dim=0)):
                split[f"{_PREFIX}.encoder.layers.{match[1]}.self_attn.{name}.{match[2]}"] = part
        elif key == "backbone.proj":
            split[f"{_PREFIX}.projection.weight"] = tensor.t()
        else:
            split[key] = tensor
    return split


def convert_original_state_dict(original: dict, target_state_dict: dict) -> dict:
    """Map every original tensor onto a `TadaFormerForVideoClassification` state dict, dropping singleton axes; a
    `ValueError` lists whatever is left over, missing or of another shape."""
    return map_state_dict(split_original_tensors(original), target_state_dict,
                          lambda key: key if key in target_state_dict else rename_original_key(key),
                          "Check the width, depth, TAda block variants and number of classes.")


def infer_config_kwargs(original: dict) -> dict:
    """TadaFormerConfig arguments read off an authors' state dict's tensor shapes."""
    def shape(key):
        if key not in original:
            raise ValueError(f"the checkpoint has no {key}: it is not a TAdaFormer state dict (the authors' "
                             "VisionTransformer backbone with TAdaFormerBlock layers).")
        return tuple(original[key].shape)

    layers = {int(match[1]) for key in original
              if (match := re.fullmatch(r"backbone\.layers\.(\d+)\.ln_1\.weight", key))}
    if not layers or layers != set(range(len(layers))):
        raise ValueError(f"expected layers 0..n-1, found {sorted(layers)}: not a TAdaFormer state dict.")
    hidden_size = shape("backbone.class_embedding")[0]
    channels, num_channels, tubelet_size, patch_size, _ = shape("backbone.conv1.weight")
    positions = shape("backbone.positional_embedding")[0] - 1
    grid = math.isqrt(positions)
    if grid * grid != positions:
        raise ValueError(f"backbone.positional_embedding holds {positions} patch positions, not a square grid.")
    kwargs = dict(hidden_size=hidden_size, num_hidden_layers=len(layers), num_channels=num_channels,
                  tubelet_size=tubelet_size, patch_size=patch_size, image_size=grid * patch_size,
                  intermediate_size=shape("backbone.layers.0.mlp.c_fc.weight")[0],
                  num_labels=shape("head.out.weight")[0],
                  projection_dim=shape("backbone.proj")[1] if "backbone.proj" in original else None)
    block = "backbone.layers.0.tada"
    kwargs["temporal_adaptive"] = f"{block}.tadaconv.weight" in original
    if kwargs["temporal_adaptive"]:
        down = shape(f"{block}.tada_pre_proj.weight")
        reduced, tada_channels, reduce_kernel = shape(f"{block}.tadaconv.rf_func.a.weight")[:3]
        kwargs.update(tada_reduction=hidden_size // down[0], temporal_enhance=len(down) == 5,
                      double_tada=f"{block}2.tadaconv.weight" in original,
                      route_reduction=tada_channels // reduced,
                      route_kernel_sizes=[reduce_kernel, shape(f"{block}.tadaconv.rf_func.b.weight")[2]],
                      bias_calibration=f"{block}.tadaconv.rf_func.b_bias.weight" in original)
    return kwargs


# What the authors' configurations state beyond the weights' shapes: our name -> their key.
ORIGINAL_CONFIG_KEYS = {
    "num_attention_heads": "VIDEO.BACKBONE.NUM_HEADS", "tubelet_stride": "VIDEO.BACKBONE.TUBLET_STRIDE",
    "tubelet_size": "VIDEO.BACKBONE.TUBLET_SIZE", "patch_size": "VIDEO.BACKBONE.PATCH_SIZE",
    "hidden_size": "VIDEO.BACKBONE.NUM_FEATURES", "num_hidden_layers": "VIDEO.BACKBONE.DEPTH",
    "tada_reduction": "VIDEO.BACKBONE.REDUCTION", "route_reduction": "VIDEO.BACKBONE.BRANCH.ROUTE_FUNC_R",
    "route_kernel_sizes": "VIDEO.BACKBONE.BRANCH.ROUTE_FUNC_K", "temporal_enhance": "VIDEO.BACKBONE.TEMP_ENHANCE",
    "double_tada": "VIDEO.BACKBONE.DOUBLE_TADA", "attention_dropout": "VIDEO.BACKBONE.ATTN_DROPOUT",
    "drop_path_rate": "VIDEO.BACKBONE.DROP_PATH", "classifier_dropout": "VIDEO.HEAD.DROPOUT_RATE",
    "num_labels": "VIDEO.HEAD.NUM_CLASSES", "num_frames": "DATA.NUM_INPUT_FRAMES",
    "image_size": "VIDEO.BACKBONE.INPUT_RES",
}


def projection_facts(config: dict) -> dict:
    """A configuration without the CLIP projection (REQUIRE_PROJ false) has no projection layer."""
    return {"projection_dim": None} if config_value(config, "VIDEO.BACKBONE.REQUIRE_PROJ") is False else {}


def check_attention_heads(settings: dict, shapes: dict, checkpoint_path) -> None:
    """The number of attention heads is in no shape, and a wrong one gives wrong outputs: it must be stated."""
    if settings.get("num_attention_heads") is None:
        raise ValueError(f"{checkpoint_path}: the transformer's number of attention heads is not in the weights' "
                         "shapes, and a wrong one gives wrong outputs. Give the authors' configuration "
                         "(--original_config CONFIG.yaml, VIDEO.BACKBONE.NUM_HEADS), a --released preset, or "
                         f"--num_attention_heads (CLIP's: hidden size / 64, here {shapes['hidden_size'] // 64}).")


CONVERSION = FamilyConversion(
    family=TADAFORMER, config_class=TadaFormerConfig, model_class=TadaFormerForVideoClassification,
    infer_config_kwargs=infer_config_kwargs, convert_state_dict=convert_original_state_dict,
    architecture=("VisionTransformer", "TAdaFormerBlock"), config_keys=ORIGINAL_CONFIG_KEYS,
    authors_defaults={"tubelet_stride": AUTHORS_TUBELET_STRIDE}, processor_defaults=PROCESSOR_DEFAULTS,
    extra_facts=projection_facts, check_settings=check_attention_heads,
    options=(("num_attention_heads", "attention heads per layer (B/16: 12; L/14: 16)"),
             ("tubelet_stride", f"temporal stride of the tubelet embedding (the authors': {AUTHORS_TUBELET_STRIDE})")))


def convert_tadaformer_checkpoint(checkpoint_path, output_dir, original_config=None, released=None, use_ema=False,
                                  label_names=None, label_origin=None, processor_kwargs=None,
                                  **config_overrides) -> TadaFormerForVideoClassification:
    """Convert an authors' TAdaFormer checkpoint into a complete transformers folder at `output_dir` (which must not
    exist or be empty; the folder is written elsewhere and moved into place, so it is complete or absent)."""
    return convert_checkpoint(CONVERSION, checkpoint_path, output_dir, original_config, released, use_ema,
                              label_names, label_origin, processor_kwargs, **config_overrides)


def main(argv=None):
    return command_line(CONVERSION, __doc__.split("\n\n")[0], argv)


if __name__ == "__main__":
    main()
