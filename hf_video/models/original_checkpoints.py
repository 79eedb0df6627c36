"""Reading the authors' checkpoints (TAdaConv repository, EssentialMC2) and mapping their tensors onto our models:
what every converter shares. Checkpoints are read with `torch.load(weights_only=True)` only."""

import os
import pickle

import torch

EXPECTED = "an original TAda checkpoint (.pyth / .pth, written by torch.save)"


def read_original_checkpoint(checkpoint_path) -> dict:
    """The checkpoint's top-level dict, read safely; a clear error for an empty, foreign, damaged or unsafe file."""
    if os.path.isfile(checkpoint_path):
        with open(checkpoint_path, "rb") as file:
            magic = file.read(4)
        if not magic:
            raise ValueError(f"{checkpoint_path} is empty (0 bytes), not {EXPECTED}: download it again.")
        if magic != b"PK\x03\x04" and magic[:1] != b"\x80":
            raise ValueError(f"{checkpoint_path} is not {EXPECTED}: it is neither a zip archive nor a pickle, the "
                             "two forms torch.save writes.")
    try:
        checkpoint = torch.load(checkpoint_path, map_location="cpu", weights_only=True)
    except OSError:
        raise  # a missing or unreadable file: its own message names the path
    except pickle.UnpicklingError as error:
        if "Weights only load failed" not in str(error):
            raise ValueError(f"{checkpoint_path} is not {EXPECTED} ({error}).") from error
        raise ValueError(
            f"{checkpoint_path} holds objects other than tensors and plain containers; it is refused rather than "
            f"unpickled, since unpickling can run arbitrary code. Re-save its state dict alone "
            f"(torch.save(checkpoint['model_state'], path)) where you trust the file. Details: {error}"
        ) from error
    except Exception as error:  # what torch's readers raise on damaged bytes varies: EOFError, RuntimeError, ...
        raise ValueError(f"{checkpoint_path} cannot be read as {EXPECTED}; it may be truncated or damaged: download "
                         f"it again ({type(error).__name__}: {str(error).splitlines()[0]}).") from error
    if not isinstance(checkpoint, dict):
        raise ValueError(f"{checkpoint_path} holds a {type(checkpoint).__name__}, not {EXPECTED}.")
    return checkpoint


def original_state_dict(checkpoint: dict, checkpoint_path, use_ema: bool = False) -> dict:
    """The model state dict inside a checkpoint (TAdaConv's `model_state`, or its EMA weights `model_ema_state` with
    `use_ema`; EssentialMC2's `state_dict`; or a plain state dict), without the `module.` prefix of
    DistributedDataParallel."""
    if use_ema:
        if not isinstance(checkpoint.get("model_ema_state"), dict):
            raise ValueError(f"{checkpoint_path} holds no EMA weights ('model_ema_state'); convert it without "
                             "--ema to take its model weights.")
        state_dict = checkpoint["model_ema_state"]
    elif isinstance(checkpoint.get("model_state"), dict):
        state_dict = checkpoint["model_state"]  # TAdaConv repository layout
    elif isinstance(checkpoint.get("state_dict"), dict):
        state_dict = checkpoint["state_dict"]  # EssentialMC2 CheckpointHook layout
    elif checkpoint and all(isinstance(value, torch.Tensor) for value in checkpoint.values()):
        state_dict = checkpoint
    else:
        raise ValueError(f"{checkpoint_path} is not a TAda checkpoint: expected a dict with 'model_state' (TAdaConv) "
                         "or 'state_dict' (EssentialMC2), or a plain state dict.")
    return {key.removeprefix("module."): tensor for key, tensor in state_dict.items()}


def map_state_dict(original: dict, target_state_dict: dict, rename, hint: str) -> dict:
    """Every original tensor, under `rename(key)` (None: no place in the model), reshaped to the target's shape
    (the originals carry singleton time axes that our per-frame layers do not). Raises `ValueError` listing every
    original key left unmapped, every model weight left unfilled and every shape that disagrees, then `hint`."""
    converted, unmapped, mismatched = {}, [], []
    for key, tensor in original.items():
        name = rename(key)
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
        raise ValueError("The checkpoint does not match the model configuration. " + " ".join(problems) + " " + hint)
    return converted


def _without_singletons(shape) -> list:
    return [size for size in shape if size != 1]
