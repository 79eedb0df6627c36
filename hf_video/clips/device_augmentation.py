"""Training augmentation split across the loader and the training device (opt-in, `augment_on_device`).

Loader processes do what needs the file: decode, draw the crop box and the flip (`clip_ops.draw_augmentation`, the
same draws as the CPU path), and cut the box out of the uint8 frames. The float work - resize, normalise, flip
(`clip_ops.finish_augmentation`, the same function as the CPU path) - runs batched on the device that trains, between
the collator and the model. So the pixels are the CPU path's (to float rounding on a GPU), and a loader process
spends its time decoding.

- rows: `crops` (each frame's uint8 (h, w, 3) crop), `flip` (bool), `labels`
  (`VideoClipTransform(augment_on_device=True)`);
- `collate_crops`: the crops of a batch one after the other, flat uint8 (the one copy of the pixels), with their
  shapes and flips as lists;
- `DeviceAugmentation(settings)(batch)`: turns such a batch, wherever it lies (`move_batch` moves one as the Trainer
  does), into `pixel_values` (B, T, C, S, S).
"""

import torch

from .clip_ops import finish_augmentation
from .clip_settings import ClipSettings


def collate_crops(rows: list[dict]) -> dict:
    """Batch rows of uint8 crops of different sizes without padding: `crops` is every crop's bytes one after the
    other (1-D uint8: a batch of boxes padded to the largest would often be larger than the float clips), copied
    once from the rows' frames. Each crop's (frames, height, width) and flip are plain lists (`crop_shapes`, `flips`),
    which stay on the CPU when the batch moves: reading them back from an accelerator would make every step wait for
    the one before. A row's `crops`: its frames' crops, a (T, h, w, 3) array or tensor or a list of (h, w, 3) ones."""
    shapes = [(len(row["crops"]), *row["crops"][0].shape) for row in rows]
    if len({shape[0] for shape in shapes}) != 1 or {shape[3] for shape in shapes} != {3} or any(
            tuple(frame.shape) != shape[1:] for row, shape in zip(rows, shapes) for frame in row["crops"]):
        raise ValueError(f"crops in one batch must have one frame count and 3 channels, and one box per clip; got "
                         f"(frames, height, width, channels) {sorted(set(shapes))}.")
    flat = torch.empty(sum(frames * height * width * 3 for frames, height, width, _ in shapes), dtype=torch.uint8)
    start = 0
    for row, (_, height, width, _) in zip(rows, shapes):
        for frame in row["crops"]:
            flat[start:start + height * width * 3].view(height, width, 3).copy_(torch.as_tensor(frame))
            start += height * width * 3
    return {"crops": flat, "crop_shapes": [shape[:3] for shape in shapes],
            "flips": [bool(row["flip"]) for row in rows],
            "labels": torch.as_tensor([row["labels"] for row in rows], dtype=torch.long)}


def move_batch(batch: dict, device, non_blocking: bool = False) -> dict:
    """What the Trainer does to a batch, for loops of your own: tensors to `device`, the crops' shapes and flips left
    on the CPU as they are."""
    return {name: value.to(device, non_blocking=non_blocking) if isinstance(value, torch.Tensor) else value
            for name, value in batch.items()}


class DeviceAugmentation:
    """The float half of the training augmentation, for batches made by `collate_crops`, on their device.

    Call it on a batch after it was moved to the training device; a batch without `crops` (evaluation clips,
    finished in the loader) passes through unchanged.
    """

    def __init__(self, settings: ClipSettings):
        self.settings = settings

    def __repr__(self):
        return f"{type(self).__name__}(settings={self.settings!r})"

    def __call__(self, batch: dict) -> dict:
        if "crops" not in batch:
            return batch
        batch = dict(batch)
        crops, shapes, flips = batch.pop("crops"), batch.pop("crop_shapes"), batch.pop("flips")
        clips = torch.split(crops, [frames * height * width * 3 for frames, height, width in shapes])
        batch["pixel_values"] = torch.stack([
            finish_augmentation(clip.view(frames, height, width, 3), (0, 0, height, width), flip, self.settings)
            for clip, (frames, height, width), flip in zip(clips, shapes, flips)
        ])
        return batch
