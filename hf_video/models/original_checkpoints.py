"""Reading the authors' checkpoints (TAdaConv repository, EssentialMC2) and mapping their tensors onto our models:
what every converter shares. Checkpoints are read with `torch.load(weights_only=True)` only."""

import os
import pickle
import stat
import zipfile
import zlib

import torch

EXPECTED = "an original TAda checkpoint (.pyth / .pth, written by torch.save)"


def read_original_checkpoint(checkpoint_path, expected: str = EXPECTED) -> dict:
    """The checkpoint's top-level dict, read safely; a clear error for an empty, foreign, damaged or unsafe file
    (saying it is not `expected`)."""
    check_checkpoint_file(checkpoint_path, expected)
    try:
        checkpoint = torch.load(checkpoint_path, map_location="cpu", weights_only=True)
    except pickle.UnpicklingError as error:
        if "Weights only load failed" not in str(error):
            raise ValueError(f"{checkpoint_path} is not {expected} ({_first_line(error)}).") from error
        raise ValueError(
            f"{checkpoint_path} holds objects other than tensors and plain containers ({_what_torch_refused(error)}); "
            "it is refused rather than unpickled, since unpickling can run arbitrary code. Where the file comes from "
            "someone you trust, re-save its state dict alone (torch.save(checkpoint['model_state'], path)) and "
            "convert that.") from error
    except Exception as error:  # what torch's readers raise on damaged bytes varies: EOFError, RuntimeError, ...
        raise ValueError(f"{checkpoint_path} cannot be read as {expected}; it may be truncated or damaged: download "
                         f"it again ({type(error).__name__}: {_first_line(error)}).") from error
    if not isinstance(checkpoint, dict):
        raise ValueError(f"{checkpoint_path} holds a {type(checkpoint).__name__}, not {expected}.")
    return checkpoint


def check_checkpoint_file(checkpoint_path, expected: str = EXPECTED) -> None:
    """A regular, non-empty file in one of torch.save's two forms, whose zip members (the modern form) all match
    their CRC-32: damaged bytes inside a tensor would otherwise load as wrong weights, without an error."""
    try:
        status = os.stat(checkpoint_path)
    except OSError as error:
        raise ValueError(f"{checkpoint_path}: cannot be read ({error.strerror or error}).") from error
    if not stat.S_ISREG(status.st_mode):
        kind = "a folder" if stat.S_ISDIR(status.st_mode) else "not a regular file (a FIFO, device or socket)"
        raise ValueError(f"{checkpoint_path} is {kind}, not {expected}; pass the checkpoint file.")
    with open(checkpoint_path, "rb") as file:
        magic = file.read(4)
    if not magic:
        raise ValueError(f"{checkpoint_path} is empty (0 bytes), not {expected}: download it again.")
    if magic != b"PK\x03\x04" and magic[:1] != b"\x80":
        raise ValueError(f"{checkpoint_path} is not {expected}: it is neither a zip archive nor a pickle, the two "
                         "forms torch.save writes.")
    if magic == b"PK\x03\x04":
        try:
            with zipfile.ZipFile(checkpoint_path) as archive:
                damaged = archive.testzip()
        except (zipfile.BadZipFile, OSError, EOFError, zlib.error) as error:
            raise ValueError(f"{checkpoint_path} cannot be read as {expected}: its zip archive is truncated or damaged "
                             f"({error}); download it again.") from error
        if damaged is not None:
            raise ValueError(f"{checkpoint_path} is damaged: its member {damaged} does not match its CRC-32 (bytes "
                             "changed after it was written); download it again.")


def read_safetensors(path) -> dict:
    """The tensors of a `.safetensors` file; errors (missing, not a regular file, truncated) name it."""
    try:
        status = os.stat(path)
    except OSError as error:
        raise ValueError(f"{path}: cannot be read ({error.strerror or error}).") from error
    if not stat.S_ISREG(status.st_mode):
        raise ValueError(f"{path} is not a regular file; pass the .safetensors file.")
    from safetensors.torch import load_file

    try:
        return load_file(path)
    except Exception as error:  # safetensors raises its own SafetensorError, without the file's name
        raise ValueError(f"{path}: not a complete safetensors file ({_first_line(error)}); it may be truncated: "
                         "download it again.") from error


def _first_line(error) -> str:
    return (str(error).strip().splitlines() or [type(error).__name__])[0]


def _what_torch_refused(error) -> str:
    """The object torch's safe loader refused, without its advice to load unsafely (never passed on)."""
    lines = [line.strip() for line in str(error).splitlines()]
    found = next((line for line in lines if line.startswith("WeightsUnpickler error")), None)
    if found is None:
        return "an object torch's safe loader refuses"
    return found.removeprefix("WeightsUnpickler error:").split(". Please use")[0].strip()  # its allow-list advice cut


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
    stripped, origin = {}, {}
    for key, tensor in state_dict.items():
        if not isinstance(tensor, torch.Tensor):
            raise ValueError(f"{checkpoint_path}: the state dict's {key!r} is a {type(tensor).__name__} "
                             f"({str(tensor)[:60]}), not a tensor; the checkpoint is damaged or not a model's.")
        name = key.removeprefix("module.")
        if name in stripped:
            same = stripped[name].shape == tensor.shape and torch.equal(stripped[name], tensor)
            raise ValueError(f"{checkpoint_path} holds both {origin[name]!r} and {key!r}"
                             f"{'' if same else ' with different values'}: one model's weights, saved with and without "
                             "DistributedDataParallel's 'module.' prefix; nothing says which is meant. Keep one set.")
        stripped[name], origin[name] = tensor, key
    return stripped


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
