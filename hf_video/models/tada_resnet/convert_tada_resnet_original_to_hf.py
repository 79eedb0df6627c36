"""Original TAda2D checkpoints (TAdaConv repository, EssentialMC2) -> TadaResNet state dicts.

The originals store Conv3d weights with singleton time axes and the TAdaConv2d weight as (1, 1, C_out, C_in, k, k);
our model runs on frames with 2D/1D convolutions whose weights are the same tensors without those singleton axes.
"""

import pickle
import re

import torch

# Block parts: original name (inside `backbone.conv<stage>.res_<block>.`) -> ours (inside `...layers.<block>.`).
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
_STEM_PARTS = {"a": "tada_resnet.embedder.convolution", "a_bn": "tada_resnet.embedder.normalization"}
_TENSOR = r"(weight|bias|running_mean|running_var|num_batches_tracked)"
_BLOCK_KEY = re.compile(rf"backbone\.conv(\d+)\.res_(\d+)\.(.+)\.{_TENSOR}")
_STEM_KEY = re.compile(rf"backbone\.conv1\.(a|a_bn)\.{_TENSOR}")
_HEAD_KEY = re.compile(r"head\.out\.(weight|bias)")


def load_original_state_dict(checkpoint_path) -> dict:
    """Read an original checkpoint safely (`weights_only=True`) and return its model state dict, without the
    `module.` prefix that EssentialMC2 (DistributedDataParallel) adds."""
    try:
        checkpoint = torch.load(checkpoint_path, map_location="cpu", weights_only=True)
    except pickle.UnpicklingError as error:
        raise ValueError(
            f"{checkpoint_path} holds objects other than tensors and plain containers; it is refused rather than "
            f"unpickled, since unpickling can run arbitrary code. Re-save its state dict alone "
            f"(torch.save(checkpoint['model_state'], path)) where you trust the file. Details: {error}"
        ) from error
    if isinstance(checkpoint, dict) and isinstance(checkpoint.get("model_state"), dict):
        state_dict = checkpoint["model_state"]  # TAdaConv repository layout
    elif isinstance(checkpoint, dict) and isinstance(checkpoint.get("state_dict"), dict):
        state_dict = checkpoint["state_dict"]  # EssentialMC2 CheckpointHook layout
    elif isinstance(checkpoint, dict) and all(isinstance(v, torch.Tensor) for v in checkpoint.values()):
        state_dict = checkpoint
    else:
        raise ValueError(
            f"{checkpoint_path} is not a TAda checkpoint: expected a dict with 'model_state' (TAdaConv) or "
            f"'state_dict' (EssentialMC2), or a plain state dict."
        )
    return {key.removeprefix("module."): tensor for key, tensor in state_dict.items()}


def rename_original_key(key: str) -> str | None:
    """Our name for an original state-dict key, or None if the key is not part of the original TAda2D model."""
    if match := _STEM_KEY.fullmatch(key):
        return f"{_STEM_PARTS[match[1]]}.{match[2]}"
    if match := _BLOCK_KEY.fullmatch(key):
        stage, block, part, tensor = int(match[1]), int(match[2]), match[3], match[4]
        if stage < 2 or block < 1 or part not in _BLOCK_PARTS:
            return None
        return f"tada_resnet.encoder.stages.{stage - 2}.layers.{block - 1}.{_BLOCK_PARTS[part]}.{tensor}"
    if match := _HEAD_KEY.fullmatch(key):
        return f"classifier.{match[1]}"
    return None


def convert_original_state_dict(original_state_dict: dict, target_state_dict: dict) -> dict:
    """Map every original tensor onto the target model's state dict (`model.state_dict()` of a
    `TadaResNetForVideoClassification`), dropping singleton axes. Raises `ValueError` listing every original key
    left unmapped, every model weight left unfilled and every shape that disagrees."""
    converted, unmapped, mismatched = {}, [], []
    for key, tensor in original_state_dict.items():
        name = rename_original_key(key)
        if name is None or name not in target_state_dict:
            unmapped.append(key)
            continue
        target_shape = target_state_dict[name].shape
        if _without_singletons(tensor.shape) != _without_singletons(target_shape):
            mismatched.append(f"{key} {tuple(tensor.shape)} -> {name} {tuple(target_shape)}")
            continue
        converted[name] = tensor.reshape(target_shape)
    unfilled = sorted(set(target_state_dict) - set(converted))
    problems = []
    if unmapped:
        problems.append(f"{len(unmapped)} original keys have no place in the model: {unmapped}")
    if mismatched:
        problems.append(f"{len(mismatched)} shapes disagree: {mismatched}")
    if unfilled:
        problems.append(f"{len(unfilled)} model weights are not in the checkpoint: {unfilled}")
    if problems:
        raise ValueError(
            "The checkpoint does not match the model configuration. " + " ".join(problems)
            + " Check depth, widths and number of classes."
        )
    return converted


def _without_singletons(shape) -> list:
    return [size for size in shape if size != 1]
