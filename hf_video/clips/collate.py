"""Batching clips for the model: `pixel_values` (B, T, C, H, W), or (B, V, T, C, H, W) for V evaluation views per video,
so that evaluation can average the views of each video; or uint8 crops for the device-side augmentation."""

import torch

from .device_augmentation import collate_crops


def collate_clips(rows: list[dict]) -> dict:
    """Stack rows of `VideoClipTransform` output (`pixel_values`, `labels`) into a batch; other keys are dropped.
    Rows of uint8 crops (`augment_on_device=True`) go to `device_augmentation.collate_crops`."""
    if not rows:
        raise ValueError("collate_clips got an empty list of rows.")
    if all("crops" in row for row in rows):
        return collate_crops(rows)
    shapes = {tuple(row["pixel_values"].shape) for row in rows}
    if len(shapes) != 1:
        raise ValueError(f"clips in one batch must have one shape; got {sorted(shapes)}. Use the same ClipSettings "
                         "(num_frames, image_size, temporal_crops, spatial_crops) for every row.")
    batch = {"pixel_values": torch.stack([row["pixel_values"] for row in rows])}
    if all("labels" in row for row in rows):
        batch["labels"] = torch.as_tensor([row["labels"] for row in rows], dtype=torch.long)
    return batch
