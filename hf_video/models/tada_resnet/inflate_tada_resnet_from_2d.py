"""A TAda ResNet3D initialised from a 2D ImageNet ResNet-50/101/152, as the originals initialise TAda2D.

Sources: a torchvision ResNet state dict (or model, or one saved as `.pth` / `.safetensors`), or a transformers ResNet
(`ResNetModel` / `ResNetForImageClassification`, e.g. the `microsoft/resnet-50` layout; a folder or Hub id).
Every 2D weight keeps its shape: the 7x7 stem and the 1x1 convolutions map onto our per-frame convolutions, each
3x3 onto its TAdaConv2d weight, the BatchNorms onto ours; the classifier is dropped (a new head is initialised).
The route functions and the temporal-pool BatchNorms have no 2D counterpart and keep their initialisation
(calibration == 1, temporal branch off), so a freshly inflated model computes what the same architecture computes
frame by frame with plain 2D convolutions. It is not torchvision's ResNet frame by frame: TAda2D has no max-pool
after the stem and strides the first block of its first stage instead.
"""

import os
import re

import torch

from ..original_checkpoints import read_original_checkpoint, read_safetensors
from .configuration_tada_resnet import TadaResNetConfig
from .modeling_tada_resnet import TadaResNetForVideoClassification
from .weight_names import BLOCK_KEY, BLOCK_KEY_PATTERN, STEM_KEY, TENSOR_NAME, bottleneck_depth

# torchvision: conv1/bn1, layer<s>.<b>.conv<k>/bn<k>, layer<s>.<b>.downsample.<0|1>, fc.
_TORCHVISION_PARTS = {"conv1": "reduce.convolution", "bn1": "reduce.normalization",
                      "conv2": "tada.convolution", "bn2": "tada.normalization",
                      "conv3": "expand.convolution", "bn3": "expand.normalization",
                      "downsample.0": "shortcut.convolution", "downsample.1": "shortcut.normalization"}
# transformers ResNet: embedder.embedder.*, encoder.stages.<s>.layers.<b>.layer.<k>.* / .shortcut.*, classifier.
_TRANSFORMERS_PARTS = {"layer.0.convolution": "reduce.convolution", "layer.0.normalization": "reduce.normalization",
                       "layer.1.convolution": "tada.convolution", "layer.1.normalization": "tada.normalization",
                       "layer.2.convolution": "expand.convolution", "layer.2.normalization": "expand.normalization",
                       "shortcut.convolution": "shortcut.convolution",
                       "shortcut.normalization": "shortcut.normalization"}


def _rename_torchvision_key(key: str) -> str | None:
    if match := re.fullmatch(rf"(conv1|bn1)\.{TENSOR_NAME}", key):
        part = "convolution" if match[1] == "conv1" else "normalization"
        return STEM_KEY.format(part=part, tensor=match[2])
    if match := re.fullmatch(rf"layer(\d)\.(\d+)\.(conv\d|bn\d|downsample\.[01])\.{TENSOR_NAME}", key):
        if match[3] in _TORCHVISION_PARTS:
            return BLOCK_KEY.format(stage=int(match[1]) - 1, block=match[2], part=_TORCHVISION_PARTS[match[3]],
                                    tensor=match[4])
    return None


def _rename_transformers_key(key: str) -> str | None:
    key = key.removeprefix("resnet.")
    if match := re.fullmatch(rf"embedder\.embedder\.(convolution|normalization)\.{TENSOR_NAME}", key):
        return STEM_KEY.format(part=match[1], tensor=match[2])
    if match := re.fullmatch(rf"encoder\.stages\.(\d)\.layers\.(\d+)\.(.+)\.{TENSOR_NAME}", key):
        if match[3] in _TRANSFORMERS_PARTS:
            return BLOCK_KEY.format(stage=match[1], block=match[2], part=_TRANSFORMERS_PARTS[match[3]],
                                    tensor=match[4])
    return None


def _is_classifier_key(key: str) -> bool:
    return key.startswith(("fc.", "classifier.")) or key.startswith("resnet.pooler")


def resnet_2d_layout(state_dict: dict) -> str:
    """"torchvision" or "transformers", from the key names."""
    if "conv1.weight" in state_dict and "layer1.0.conv1.weight" in state_dict:
        return "torchvision"
    if any(key.removeprefix("resnet.").startswith("embedder.embedder.") for key in state_dict):
        return "transformers"
    raise ValueError("not a 2D ResNet state dict: expected torchvision keys (conv1.weight, layer1.0.conv1.weight, "
                     "...) or transformers ResNet keys (embedder.embedder.convolution.weight, ...).")


def infer_config_from_2d(state_dict: dict) -> dict:
    """depth, stem and stage widths of a 2D bottleneck ResNet state dict."""
    layout = resnet_2d_layout(state_dict)
    rename = _rename_torchvision_key if layout == "torchvision" else _rename_transformers_key
    renamed = {name: tensor for key, tensor in state_dict.items() if (name := rename(key))}
    blocks = {}
    for key in renamed:
        if (match := BLOCK_KEY_PATTERN.fullmatch(key)) and match["part"] == "expand.convolution":
            blocks.setdefault(int(match["stage"]), set()).add(int(match["block"]))
    stage_depths = tuple(len(blocks.get(stage, ())) for stage in range(4))
    depth = bottleneck_depth(stage_depths)
    if depth is None:
        raise ValueError(f"bottleneck blocks per stage {list(stage_depths)} match no ResNet-50/101/152; inflation "
                         "takes bottleneck ResNets (torchvision resnet50/101/152 or transformers ResNet).")
    stem = renamed[STEM_KEY.format(part="convolution", tensor="weight")]
    hidden_sizes = [renamed[BLOCK_KEY.format(stage=stage, block=0, part="expand.convolution", tensor="weight")]
                    .shape[0] for stage in range(4)]
    return dict(depth=depth, stem_width=stem.shape[0], stem_kernel_size=stem.shape[-1], hidden_sizes=hidden_sizes)


def inflate_state_dict(state_dict_2d: dict, target_state_dict: dict) -> dict:
    """The target model's tensors that come from the 2D ResNet (same shapes, renamed). Raises ValueError listing
    every 2D weight that has no place and every shape that disagrees."""
    rename = _rename_torchvision_key if resnet_2d_layout(state_dict_2d) == "torchvision" else _rename_transformers_key
    inflated, unplaced, mismatched = {}, [], []
    for key, tensor in state_dict_2d.items():
        name = rename(key)
        if name is None:
            if not _is_classifier_key(key):
                unplaced.append(key)
            continue
        if name not in target_state_dict:
            unplaced.append(key)
        elif target_state_dict[name].shape != tensor.shape:
            mismatched.append(f"{key} {tuple(tensor.shape)} -> {name} {tuple(target_state_dict[name].shape)}")
        else:
            inflated[name] = tensor
    if unplaced or mismatched:
        raise ValueError(f"the 2D ResNet does not fit the TAda configuration: {len(unplaced)} weights have no place "
                         f"({unplaced[:10]}), {len(mismatched)} shapes disagree ({mismatched[:10]}).")
    return inflated


def _load_2d_state_dict(source, hub_kwargs: dict | None = None) -> dict:
    if isinstance(source, dict):
        return source
    if isinstance(source, torch.nn.Module):
        return source.state_dict()
    path = str(source)
    if path.endswith((".pth", ".pt", ".bin", ".safetensors")):
        return _load_state_dict_file(path)
    if path.endswith(_OTHER_WEIGHT_FILES):
        raise ValueError(f"{path}: a {os.path.splitext(path)[1]} file is not read here; pass a torchvision state "
                         "dict (.pth/.pt/.bin/.safetensors) or a transformers ResNet folder (config.json and its "
                         "weights) or Hub id.")
    if (path.startswith((".", "/", "~")) or path.count("/") > 1) and not os.path.isdir(os.path.expanduser(path)):
        raise ValueError(f"{path}: no such folder (expected a transformers ResNet folder, a state dict file or a Hub "
                         "id).")
    from transformers import AutoModel  # a transformers ResNet folder or Hub id

    return AutoModel.from_pretrained(path, **(hub_kwargs or {})).state_dict()


_OTHER_WEIGHT_FILES = (".ckpt", ".pyth", ".h5", ".msgpack")


def _load_state_dict_file(path: str) -> dict:
    """A torchvision ResNet state dict saved with torch.save (plain, or under "state_dict") or as safetensors."""
    if not os.path.exists(path):
        raise ValueError(f"{path}: no such file.")
    loaded = read_safetensors(path) if path.endswith(".safetensors") else \
        read_original_checkpoint(path, "a state dict written by torch.save")
    state_dict = loaded.get("state_dict", loaded) if isinstance(loaded, dict) else loaded
    if not isinstance(state_dict, dict) or not state_dict:
        raise ValueError(f"{path}: holds no weights (an empty or non-dict state dict: {type(state_dict).__name__}).")
    return state_dict


def inflate_resnet_2d(source, num_labels: int | None = None, hub_kwargs: dict | None = None,
                      **config_kwargs) -> TadaResNetForVideoClassification:
    """A TadaResNetForVideoClassification whose backbone comes from a 2D ResNet (state dict, torchvision model,
    `.pth` file, or transformers ResNet folder / Hub id); the head is new. `config_kwargs` (num_frames, image_size,
    id2label, ...) go to `TadaResNetConfig`; depth and widths are read off the 2D weights. `hub_kwargs` (revision,
    token, ...) go to `from_pretrained` for a Hub id."""
    state_dict_2d = _load_2d_state_dict(source, hub_kwargs)
    if num_labels is not None:
        config_kwargs["num_labels"] = num_labels
    config = TadaResNetConfig(**{**infer_config_from_2d(state_dict_2d), **config_kwargs})
    model = TadaResNetForVideoClassification(config)
    inflated = inflate_state_dict(state_dict_2d, model.state_dict())
    missing, _ = model.load_state_dict(inflated, strict=False)  # unexpected is empty: only the model's own names
    not_inflated = [key for key in missing if not re.search(r"\.route\.|temporal_pool_normalization|^classifier", key)]
    if not_inflated:
        raise ValueError(f"the 2D ResNet leaves {len(not_inflated)} backbone weights unfilled: {not_inflated[:10]}")
    return model
