"""Training augmentation split across the loader and the training device (opt-in, `augment_on_device`).

Loader processes do what needs the file: decode, draw the crop box and the flip (`clip_ops.draw_augmentation`, the
same draws as the CPU path), and cut the box out of the uint8 frames. The float work - resize, normalise, flip
(`clip_ops.finish_augmentation`, the same function as the CPU path) - runs batched on the device that trains, between
the collator and the model. So the pixels are the CPU path's (to float rounding on a GPU), and a loader process
spends its time decoding.

- rows: `crops` uint8 (T, h, w, 3), `flip` (bool), `labels` (`VideoClipTransform(augment_on_device=True)`);
- `collate_crops`: pads the crops of a batch to the largest box, (B, T, H, W, 3) uint8, with `crop_sizes` (B, 2);
- `DeviceAugmentation(settings)(batch)`: turns such a batch, wherever it lies, into `pixel_values` (B, T, C, S, S).
"""

import torch

from .clip_ops import finish_augmentation
from .clip_settings import ClipSettings


def collate_crops(rows: list[dict]) -> dict:
    """Batch rows of uint8 crops of different sizes: zero-padded to the largest, with each crop's size."""
    sizes = torch.tensor([tuple(row["crops"].shape[1:3]) for row in rows], dtype=torch.long)
    lengths = {tuple(row["crops"].shape[::3]) for row in rows}
    if len(lengths) != 1:
        raise ValueError(f"crops in one batch must have one frame count and 3 channels; got (T, C) {sorted(lengths)}.")
    frames, _, _, channels = rows[0]["crops"].shape
    crops = torch.zeros(len(rows), frames, *sizes.max(dim=0).values.tolist(), channels, dtype=torch.uint8)
    for target, row, (height, width) in zip(crops, rows, sizes.tolist()):
        target[:, :height, :width] = row["crops"]
    return {"crops": crops, "crop_sizes": sizes, "flips": torch.tensor([bool(row["flip"]) for row in rows]),
            "labels": torch.as_tensor([row["labels"] for row in rows], dtype=torch.long)}


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
        crops, sizes, flips = batch.pop("crops"), batch.pop("crop_sizes").tolist(), batch.pop("flips").tolist()
        batch["pixel_values"] = torch.stack([
            finish_augmentation(clip, (0, 0, height, width), flip, self.settings)
            for clip, (height, width), flip in zip(crops, sizes, flips)
        ])
        return batch
