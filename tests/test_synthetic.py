"""The synthetic motion set: HMDB51 layout, twins that differ only in frame order."""

import json

import pytest

from hf_video.data.hmdb51 import Hmdb51
from hf_video.data.synthetic import (
    MOTION_PAIRS,
    SYNTHETIC_CLASSES,
    synthetic_class_names,
    write_synthetic_motion_dataset,
)
from hf_video.clips.video_io import probe_video, read_frames


@pytest.fixture(scope="module")
def synthetic(tmp_path_factory):
    return write_synthetic_motion_dataset(tmp_path_factory.mktemp("synthetic") / "motion", videos_per_class=4,
                                          test_per_class=1, num_frames_range=(20, 24), seed=3)


def test_layout_and_splits_prepare_with_the_hmdb51_builder(synthetic, tmp_path):
    assert synthetic_class_names(synthetic) == SYNTHETIC_CLASSES and len(SYNTHETIC_CLASSES) == 8
    assert json.loads((synthetic / "synthetic_motion.json").read_text())["seed"] == 3
    builder = Hmdb51(config_name="split2", data_dir=str(synthetic), cache_dir=str(tmp_path),
                     class_names=SYNTHETIC_CLASSES)
    builder.download_and_prepare()
    dataset = builder.as_dataset()
    assert {name: rows.num_rows for name, rows in dataset.items()} == {"train": 24, "test": 8}
    row = dataset["train"][0]
    assert (row["width"], row["height"], row["fps"]) == (80, 64, 30.0) and 20 <= row["num_frames"] <= 24
    assert synthetic_class_names(tmp_path) is None


@pytest.mark.parametrize("forward, backward", MOTION_PAIRS)
def test_twins_hold_the_same_frames_in_reverse_order(synthetic, forward, backward):
    forward_path = synthetic / "videos" / forward / f"{forward}_001.avi"
    backward_path = synthetic / "videos" / backward / f"{backward}_001.avi"
    count = probe_video(str(forward_path)).num_frames
    assert probe_video(str(backward_path)).num_frames == count
    frames = read_frames(str(forward_path), range(count)).int()
    reversed_frames = read_frames(str(backward_path), range(count)).int()
    assert (frames - reversed_frames.flip(0)).abs().float().mean() < 3  # equal up to codec rounding
    assert (frames[0] - frames[-1]).abs().float().mean() > 3  # and the motion is visible


def test_writing_twice_into_one_folder_is_refused(synthetic):
    with pytest.raises(FileExistsError, match="already holds a synthetic dataset"):
        write_synthetic_motion_dataset(synthetic)
    with pytest.raises(ValueError, match="test_per_class=5"):
        write_synthetic_motion_dataset(synthetic.parent / "other", videos_per_class=5, test_per_class=5)
