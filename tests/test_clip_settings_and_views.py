"""The spine every layer shares: the recipe's defaults stated once (ClipSettings), and one numbering of the
evaluation views (temporal-major) used by the transform, the multi-view evaluation and the video processor."""

import dataclasses
import importlib.util
import json
from pathlib import Path

import pytest
import torch

from hf_video import TadaResNetConfig, TadaVideoProcessor
from hf_video.clips.clip_ops import spatial_views
from hf_video.clips.clip_settings import RECIPE, ClipSettings
from hf_video.clips.views import eval_view_index, eval_view_position, eval_views, num_eval_views
from hf_video.training import expand_views

REPO = Path(__file__).resolve().parents[1]


def test_the_recipe_is_the_original_hmdb51_fine_tune():
    assert (RECIPE.num_frames, RECIPE.sample_mode, RECIPE.sample_interval, RECIPE.target_fps) == (16, "interval", 4, 30)
    assert (RECIPE.image_size, RECIPE.mean, RECIPE.std) == (112, (0.45,) * 3, (0.225,) * 3)
    assert RECIPE.eval_crop_fraction == 224 / 256 and RECIPE.flip_probability == 0.5
    assert RECIPE.crop_scale == (168**2 / (256 * 340), 224**2 / (256 * 340)) and RECIPE.crop_ratio == (6 / 7, 7 / 6)
    assert RECIPE == ClipSettings()


def test_every_layer_defaults_to_the_recipe():
    # The config restates num_frames and image_size (it ships alone as remote code): they must stay equal.
    config = TadaResNetConfig()
    assert (config.num_frames, config.image_size) == (RECIPE.num_frames, RECIPE.image_size)
    assert TadaVideoProcessor().clip_settings() == ClipSettings(**RECIPE.eval_fields())

    spec = importlib.util.spec_from_file_location("run_video_classification",
                                                  REPO / "examples" / "run_video_classification.py")
    script = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(script)
    # The script's clip options default to the checkpoint's processor, else the recipe.
    data_defaults = script.with_clip_defaults(script.ModelArguments(), script.DataArguments())
    for name in ("num_frames", "sample_interval", "target_fps", "sample_mode", "image_size"):
        assert getattr(data_defaults, name) == getattr(RECIPE, name), name


def test_eval_fields_are_what_a_video_processor_saves(tmp_path):
    assert ClipSettings.eval_field_names() == (
        "num_frames", "sample_mode", "sample_interval", "target_fps", "minus_interval", "image_size", "mean", "std",
        "eval_crop_fraction", "temporal_crops", "spatial_crops", "antialias")
    settings = dataclasses.replace(RECIPE, num_frames=8, mean=(0.1, 0.2, 0.3), eval_crop_fraction=0.5,
                                   flip_probability=0.0)
    processor = TadaVideoProcessor.from_clip_settings(settings)
    assert processor.clip_settings() == dataclasses.replace(settings, flip_probability=RECIPE.flip_probability)
    processor.save_pretrained(tmp_path)
    saved = json.loads((tmp_path / "video_preprocessor_config.json").read_text())
    assert saved["image_mean"] == [0.1, 0.2, 0.3] and saved["eval_crop_fraction"] == 0.5
    assert "flip_probability" not in saved and "crop_scale" not in saved


def test_a_processor_saved_under_the_former_field_name_loads(tmp_path):
    TadaVideoProcessor(eval_crop_fraction=0.75).save_pretrained(tmp_path)
    path = tmp_path / "video_preprocessor_config.json"
    saved = json.loads(path.read_text())
    saved["test_crop_fraction"] = saved.pop("eval_crop_fraction")
    path.write_text(json.dumps(saved))
    assert TadaVideoProcessor.from_pretrained(tmp_path).clip_settings().eval_crop_fraction == 0.75


def test_view_indices_are_temporal_major_and_round_trip():
    settings = ClipSettings(temporal_crops=2, spatial_crops=3)
    assert num_eval_views(settings) == 6
    positions = [eval_view_position(index, settings) for index in range(6)]
    assert positions == [(0, 0), (0, 1), (0, 2), (1, 0), (1, 1), (1, 2)]
    assert [eval_view_index(*position, settings) for position in positions] == list(range(6))
    with pytest.raises(ValueError, match="view_index=6 lies outside the 6 evaluation views"):
        eval_view_position(6, settings)
    with pytest.raises(ValueError, match=r"\(2, 0\) lies outside the 2 x 3"):
        eval_view_index(2, 0, settings)


def test_eval_views_follow_the_view_numbering():
    settings = ClipSettings(num_frames=2, image_size=8, temporal_crops=2, spatial_crops=3)
    frames = torch.randint(0, 256, (4, 24, 32, 3), dtype=torch.uint8, generator=torch.Generator().manual_seed(0))
    views = eval_views(frames, settings)
    assert views.shape == (6, 2, 3, 8, 8)
    for index in range(6):
        temporal_index, spatial_index = eval_view_position(index, settings)
        clip = frames[2 * temporal_index:2 * temporal_index + 2]
        assert torch.equal(views[index], spatial_views(clip, settings)[spatial_index])
    single = eval_views(frames[:2], dataclasses.replace(settings, temporal_crops=1, spatial_crops=1))
    assert single.shape == (2, 3, 8, 8)  # one view: no view axis
    with pytest.raises(ValueError, match="expected the 2 x 2 frames of eval_frame_indices; got 3"):
        eval_views(frames[:3], settings)


def test_expand_views_numbers_every_view_of_every_video():
    from datasets import Dataset

    videos = Dataset.from_dict({"video_id": ["a", "b"], "label": [0, 1]})
    expanded = expand_views(videos, ClipSettings(temporal_crops=2, spatial_crops=3))
    assert expanded["video_id"] == ["a"] * 6 + ["b"] * 6 and expanded["video_index"] == [0] * 6 + [1] * 6
    assert expanded["view_index"] == list(range(6)) * 2
