"""Clip transforms: crop boxes pinned, one box and one flip per clip, per-channel normalisation; the device-side
augmentation gives the same pixels."""

import random

import pytest
import torch

from hf_video.clips.clip_ops import augment_clip, random_resized_crop_box, spatial_crop_boxes, spatial_views
from hf_video.clips.clip_settings import ClipSettings
from hf_video.clips.collate import collate_clips
from hf_video.clips.device_augmentation import DeviceAugmentation, move_batch
from helpers.device_augmentation import cpu_clips_and_loader_rows, random_videos


def column_ramp_clip(frames=4, height=240, width=320):
    """uint8 (T, H, W, 3) whose pixel values grow from left to right."""
    ramp = torch.linspace(0, 255, width).round().to(torch.uint8)
    return ramp.view(1, 1, width, 1).expand(frames, height, width, 3).contiguous()


def test_test_crop_boxes_for_hmdb51_frames():
    # 320x240: a 210-pixel square (240 * 224 / 256), centred vertically; left / centre / right really differ.
    assert spatial_crop_boxes(240, 320, ClipSettings()) == [(15, 55, 210)]
    assert spatial_crop_boxes(240, 320, ClipSettings(spatial_crops=3)) == [(15, 0, 210), (15, 55, 210),
                                                                          (15, 110, 210)]
    assert spatial_crop_boxes(320, 240, ClipSettings(spatial_crops=3)) == [(0, 15, 210), (55, 15, 210),
                                                                          (110, 15, 210)]


def test_three_spatial_views_are_three_different_crops():
    views = spatial_views(column_ramp_clip(), ClipSettings(spatial_crops=3))
    assert views.shape == (3, 4, 3, 112, 112) and views.dtype == torch.float32
    left, centre, right = (view.mean().item() for view in views)
    assert left < centre < right
    # the left crop starts at column 0 and ends at column 209 of 320
    assert views[0, 0, 0, 0, 0] == pytest.approx((0 / 255 - 0.45) / 0.225, abs=0.02)
    assert views[2, 0, 0, 0, -1] == pytest.approx((255 / 255 - 0.45) / 0.225, abs=0.02)


def test_normalisation_is_per_channel_not_per_frame():
    frames = torch.zeros(3, 8, 8, 3, dtype=torch.uint8)
    frames[..., 0], frames[..., 1], frames[..., 2] = 255, 0, 51
    settings = ClipSettings(image_size=8, mean=(0.1, 0.2, 0.3), std=(0.5, 0.25, 0.1), eval_crop_fraction=1.0)
    view = spatial_views(frames, settings)[0]
    expected = torch.tensor([(1 - 0.1) / 0.5, (0 - 0.2) / 0.25, (0.2 - 0.3) / 0.1])
    assert torch.allclose(view, expected.view(1, 3, 1, 1).expand_as(view), atol=1e-5)


def test_augment_clip_uses_one_box_and_one_flip_for_the_whole_clip():
    clip = column_ramp_clip(frames=6)
    settings = ClipSettings()
    for seed in range(20):
        out = augment_clip(clip, settings, random.Random(seed))
        assert out.shape == (6, 3, 112, 112) and out.dtype == torch.float32
        assert all(torch.equal(out[0], out[t]) for t in range(1, 6))
    flipped = augment_clip(clip, ClipSettings(flip_probability=1.0), random.Random(0))
    kept = augment_clip(clip, ClipSettings(flip_probability=0.0), random.Random(0))
    assert torch.equal(flipped, kept.flip(-1))
    assert kept[0, 0, 0, 0] < kept[0, 0, 0, -1]


def test_random_resized_crop_boxes_respect_scale_and_ratio():
    settings = ClipSettings()
    rng = random.Random(0)
    for _ in range(500):
        top, left, h, w = random_resized_crop_box(240, 320, settings.crop_scale, settings.crop_ratio, rng)
        assert 0 <= top <= 240 - h and 0 <= left <= 320 - w
        assert settings.crop_scale[0] - 0.01 <= h * w / (240 * 320) <= settings.crop_scale[1] + 0.01
        assert settings.crop_ratio[0] - 0.02 <= w / h <= settings.crop_ratio[1] + 0.02
    # no allowed box fits a 4x200 strip: fall back to the widest centred box of an allowed ratio
    assert random_resized_crop_box(200, 4, settings.crop_scale, settings.crop_ratio, rng) == (97, 0, 5, 4)


@pytest.mark.parametrize("kwargs,field", [({"spatial_crops": 2}, "spatial_crops"), ({"sample_mode": "dense"},
                                          "sample_mode"), ({"num_frames": 0}, "num_frames")])
def test_bad_settings_are_named(kwargs, field):
    with pytest.raises(ValueError, match=field):
        ClipSettings(**kwargs)


def test_bad_clip_is_named():
    with pytest.raises(ValueError, match=r"uint8 clip of shape \(T, H, W, 3\)"):
        augment_clip(torch.zeros(4, 3, 8, 8, dtype=torch.uint8), ClipSettings())


@pytest.mark.parametrize("antialias", [False, True])
def test_eval_crop_resizes_like_the_recipe(antialias):
    """The recipe crops, then resizes the float clip bilinearly (align_corners=False) without antialiasing."""
    generator = torch.Generator().manual_seed(0)
    frames = torch.randint(0, 256, (2, 240, 320, 3), dtype=torch.uint8, generator=generator)
    settings = ClipSettings(antialias=antialias)
    ours = spatial_views(frames, settings)[0] * 0.225 + 0.45  # undo the normalisation: back to [0, 1]
    top, left, side = spatial_crop_boxes(240, 320, settings)[0]
    crop = frames[:, top:top + side, left:left + side].permute(0, 3, 1, 2).float() / 255
    recipe = torch.nn.functional.interpolate(crop, size=(112, 112), mode="bilinear", align_corners=False)
    difference = (ours - recipe).abs().max().item()
    if antialias:
        assert difference > 0.05  # visibly different pixels: the option does something
    else:
        assert difference < 1e-6


@pytest.mark.parametrize("device", ["cpu", pytest.param("cuda", marks=pytest.mark.skipif(
    not torch.cuda.is_available(), reason="needs a CUDA GPU (benchmarks/gpu_check.sh runs it there)"))])
def test_device_augmentation_gives_the_cpu_paths_pixels(device):
    """The loader's uint8 crops, collated unpadded and finished by DeviceAugmentation on `device`, are the clips
    augment_clip makes from the same frames and random draws (per-channel statistics, flips and all)."""
    settings = ClipSettings(num_frames=4, image_size=48, mean=(0.4, 0.5, 0.6), std=(0.2, 0.3, 0.25),
                            flip_probability=0.5)
    videos = random_videos([(240, 320), (240, 320), (180, 240), (240, 320), (144, 176), (240, 300)], num_frames=4)
    expected, rows = cpu_clips_and_loader_rows(videos, settings)
    assert {row["flip"] for row in rows} == {True, False}
    batch = move_batch(collate_clips(rows), device)
    assert batch["crops"].dtype == torch.uint8 and len(batch["crop_shapes"]) == 6
    assert len(batch["crops"]) == sum(row["crops"].numel() for row in rows)  # not padded
    finished = DeviceAugmentation(settings)(batch)
    assert sorted(finished) == ["labels", "pixel_values"] and finished["pixel_values"].device.type == device
    torch.testing.assert_close(finished["pixel_values"].cpu(), expected, rtol=0, atol=1e-5)
    with pytest.raises(ValueError, match="one frame count and 3 channels, and one box per clip"):
        collate_clips([rows[0], {**rows[1], "crops": rows[1]["crops"][:3]}])
    evaluation = {"pixel_values": expected, "labels": torch.zeros(6)}
    assert DeviceAugmentation(settings)(evaluation) is evaluation  # finished clips pass through
