"""A TAdaConvNeXtV2 initialised from a 2D ImageNet ConvNeXt, as the authors initialise theirs.

Sources: a transformers ConvNeXt (`ConvNextModel` / `ConvNextForImageClassification`, e.g. `facebook/convnext-tiny-224`;
a model, a folder or a Hub id), or a timm ConvNeXt (a model, its state dict, or one saved as `.pth` / `.safetensors`;
keys `stem.0`, `stages.<s>.blocks.<b>.conv_dw`, ...).

Every 2D weight keeps its values: the 4x4 patch convolution becomes the centre tap of the Conv3d stem (zero at the
other temporal taps, as the authors inflate it), the depthwise and downsampling convolutions, LayerNorms and linear
layers map one to one; the classifier is dropped (a new head is initialised). The route functions and the pooled
term's LayerNorm keep their initialisation (calibration 1, pooled term 0). So on a clip whose frames are all the same
image, the inflated model gives the 2D ConvNeXt's features of that image, provided its blocks use the 2D network's
activation (`hidden_act="gelu"`); the authors' TAdaConvNeXtV2 uses QuickGELU (the default here, as theirs), a close
approximation of GELU, and starts from the 2D weights all the same.
"""

import os
import re

import torch

from ..original_checkpoints import read_original_checkpoint, read_safetensors
from .configuration_tada_convnext_v2 import TadaConvNextV2Config
from .modeling_tada_convnext_v2 import TadaConvNextV2ForVideoClassification

_OURS = "tada_convnext_v2"
_TENSOR = r"(weight|bias)"
_TIMM_BLOCK_PARTS = {"conv_dw": "dwconv", "norm": "layernorm", "mlp.fc1": "pwconv1", "mlp.fc2": "pwconv2"}


def _rename_transformers_key(key: str) -> str | None:
    key = key.removeprefix("convnext.")
    if key.startswith(("embeddings.", "encoder.", "layernorm.")):
        return f"{_OURS}.{key}"
    return None


def _rename_timm_key(key: str) -> str | None:
    if match := re.fullmatch(rf"stem\.([01])\.{_TENSOR}", key):
        return f"{_OURS}.embeddings.{('patch_embeddings', 'layernorm')[int(match[1])]}.{match[2]}"
    if match := re.fullmatch(rf"stages\.(\d)\.downsample\.([01])\.{_TENSOR}", key):
        return f"{_OURS}.encoder.stages.{match[1]}.downsampling_layer.{match[2]}.{match[3]}"
    if match := re.fullmatch(r"stages\.(\d)\.blocks\.(\d+)\.(.+)", key):
        return _block_key(match[1], match[2], match[3])
    if match := re.fullmatch(rf"(?:head\.)?norm\.{_TENSOR}", key):
        return f"{_OURS}.layernorm.{match[1]}"
    return None


def _block_key(stage: str, block: str, rest: str) -> str | None:
    prefix = f"{_OURS}.encoder.stages.{stage}.layers.{block}"
    if rest == "gamma":
        return f"{prefix}.layer_scale_parameter"
    part, _, tensor = rest.rpartition(".")
    return f"{prefix}.{_TIMM_BLOCK_PARTS[part]}.{tensor}" if part in _TIMM_BLOCK_PARTS else None


LAYOUTS = {"transformers": _rename_transformers_key, "timm": _rename_timm_key}


def convnext_2d_layout(state_dict: dict) -> str:
    """"transformers" or "timm", from the key names."""
    keys = set(state_dict)
    if any(key.removeprefix("convnext.").startswith("embeddings.patch_embeddings.") for key in keys):
        return "transformers"
    if "stem.0.weight" in keys:
        return "timm"
    raise ValueError("not a 2D ConvNeXt state dict: expected transformers ConvNeXt keys (embeddings.patch_embeddings."
                     "weight, ...) or timm's (stem.0.weight, ...).")


def _is_head_key(key: str, layout: str) -> bool:
    return key.startswith(("classifier.", "head.fc.", "head.weight", "head.bias")) or (
        layout == "transformers" and key.startswith("convnext.pooler"))


def infer_config_from_2d(state_dict: dict) -> dict:
    """Depths and widths of a 2D ConvNeXt state dict, and whether its blocks have layer scales."""
    rename = LAYOUTS[convnext_2d_layout(state_dict)]
    renamed = {name for key in state_dict if (name := rename(key))}
    depths, hidden_sizes = [], []
    for stage in range(4):
        blocks = {int(match[1]) for name in renamed if (match := re.fullmatch(
            rf"{_OURS}\.encoder\.stages\.{stage}\.layers\.(\d+)\.dwconv\.weight", name))}
        if not blocks:
            raise ValueError(f"the 2D ConvNeXt has no blocks in stage {stage}: four stages are expected.")
        depths.append(len(blocks))
    for key, tensor in state_dict.items():
        if (name := rename(key)) and (match := re.fullmatch(rf"{_OURS}\.encoder\.stages\.(\d)\.layers\.0\.dwconv\."
                                                            r"weight", name)):
            hidden_sizes.append((int(match[1]), tensor.shape[0]))
    kwargs = dict(depths=depths, hidden_sizes=[width for _, width in sorted(hidden_sizes)])
    if not any(name.endswith("layer_scale_parameter") for name in renamed):
        kwargs["layer_scale_init_value"] = 0.0
    return kwargs


def inflate_state_dict(state_dict_2d: dict, target_state_dict: dict) -> dict:
    """The target model's tensors that come from the 2D ConvNeXt; the stem's 2D kernel goes to its centre temporal
    tap. Raises ValueError listing every 2D weight that has no place and every shape that disagrees."""
    if any(".grn." in key or key.endswith((".grn.gamma", ".grn.weight")) for key in state_dict_2d):
        raise ValueError("a ConvNeXt V2 (its blocks have GRN layers): TAdaConvNeXtV2 starts from ConvNeXt V1 weights, "
                         "as the authors initialise it (its V2 is TAdaConv's, not ConvNeXt's). Use a ConvNeXt V1 "
                         "checkpoint such as facebook/convnext-tiny-224 or timm's convnext_tiny.")
    layout = convnext_2d_layout(state_dict_2d)
    rename = LAYOUTS[layout]
    inflated, unplaced, mismatched = {}, [], []
    for key, tensor in state_dict_2d.items():
        name = rename(key)
        if name is None or name not in target_state_dict:
            if not _is_head_key(key, layout):
                unplaced.append(key)
            continue
        target = target_state_dict[name]
        if name.endswith("embeddings.patch_embeddings.weight") and tensor.dim() == 4:
            centred = torch.zeros(target.shape, dtype=tensor.dtype)
            if centred.shape[:2] + centred.shape[3:] == tensor.shape:
                centred[:, :, target.shape[2] // 2] = tensor
                tensor = centred
        if target.shape != tensor.shape:
            mismatched.append(f"{key} {tuple(tensor.shape)} -> {name} {tuple(target.shape)}")
        else:
            inflated[name] = tensor
    if unplaced or mismatched:
        raise ValueError(f"the 2D ConvNeXt does not fit the TAdaConvNeXtV2 configuration: {len(unplaced)} weights "
                         f"have no place ({unplaced[:10]}), {len(mismatched)} shapes disagree ({mismatched[:10]}).")
    return inflated


def _load_2d_state_dict(source, hub_kwargs: dict | None = None) -> dict:
    if isinstance(source, dict):
        return source
    if isinstance(source, torch.nn.Module):
        return source.state_dict()
    path = str(source)
    if path.endswith(".safetensors"):
        return read_safetensors(path)
    if path.endswith((".pth", ".pt", ".bin")):
        checkpoint = read_original_checkpoint(path)
        for wrapper in ("model", "state_dict"):  # how training scripts wrap the weights
            if isinstance(checkpoint.get(wrapper), dict):
                return checkpoint[wrapper]
        return checkpoint
    if (path.startswith((".", "/", "~")) or path.count("/") > 1) and not os.path.isdir(os.path.expanduser(path)):
        raise ValueError(f"{path}: no such folder (expected a transformers ConvNeXt folder, a state dict file or a "
                         "Hub id).")
    from transformers import AutoModel  # a transformers ConvNeXt folder or Hub id

    return AutoModel.from_pretrained(path, **(hub_kwargs or {})).state_dict()


def inflate_convnext_2d(source, num_labels: int | None = None, hub_kwargs: dict | None = None,
                        **config_kwargs) -> TadaConvNextV2ForVideoClassification:
    """A TadaConvNextV2ForVideoClassification whose backbone comes from a 2D ConvNeXt (transformers model, folder or
    Hub id; timm model, state dict or file); the head is new. `config_kwargs` (num_frames, image_size,
    route_head_dim, hidden_act, drop_path_rate, id2label, ...) go to `TadaConvNextV2Config`; depths and widths are
    read off the 2D weights. The route attention's head size defaults to the authors' rule, one head in the first
    stage (48 for ConvNeXt-T and -S, 64 for -B). `hub_kwargs` (revision, token, ...) go to `from_pretrained`."""
    state_dict_2d = _load_2d_state_dict(source, hub_kwargs)
    if num_labels is not None:
        config_kwargs["num_labels"] = num_labels
    kwargs = {**infer_config_from_2d(state_dict_2d), **config_kwargs}
    kwargs.setdefault("route_head_dim", kwargs["hidden_sizes"][0] // kwargs.get("route_reduction", 2))
    config = TadaConvNextV2Config(**kwargs)
    model = TadaConvNextV2ForVideoClassification(config)
    missing, _ = model.load_state_dict(inflate_state_dict(state_dict_2d, model.state_dict()), strict=False)
    not_inflated = [key for key in missing if not re.search(r"\.route\.|temporal_pool_layernorm|^classifier", key)]
    if not_inflated:
        raise ValueError(f"the 2D ConvNeXt leaves {len(not_inflated)} backbone weights unfilled: {not_inflated[:10]}")
    return model
