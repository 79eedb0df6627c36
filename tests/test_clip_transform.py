"""From dataset rows to model-ready batches: set_transform decoding, sampling and crops; the collator; workers."""

import json
import pickle
import random
import re
import shutil
import subprocess
import sys
import textwrap
from pathlib import Path

import pytest
import torch

from hf_video.clips.collate import collate_clips
from hf_video.data.hmdb51 import Hmdb51
from hf_video.clips.clip_ops import spatial_views
from hf_video.clips.clip_settings import ClipSettings
from hf_video.clips.video_io import VideoDecodeError, read_frames
from helpers.video_files import write_numbered_video
from hf_video.clips.clip_transform import VideoClipTransform
from hf_video.clips.sampling import clip_indices

SETTINGS = ClipSettings(num_frames=8, sample_interval=4)
LOW, HIGH = (0 - 0.45) / 0.225, (1 - 0.45) / 0.225  # normalised black and white


@pytest.fixture(scope="module")
def hmdb51_cache(hmdb51_tree, tmp_path_factory):
    cache_dir = tmp_path_factory.mktemp("cache")
    Hmdb51(config_name="split1", data_dir=str(hmdb51_tree), cache_dir=str(cache_dir)).download_and_prepare()
    return cache_dir


@pytest.fixture
def hmdb51(hmdb51_tree, hmdb51_cache):
    return Hmdb51(config_name="split1", data_dir=str(hmdb51_tree), cache_dir=str(hmdb51_cache)).as_dataset()


def test_training_rows_become_normalised_random_clips(hmdb51):
    train = hmdb51["train"]
    train.set_transform(VideoClipTransform(SETTINGS, train=True))
    row = train[0]
    assert sorted(row) == ["labels", "pixel_values"]
    clip = row["pixel_values"]
    assert clip.shape == (8, 3, 112, 112) and clip.dtype == torch.float32
    assert row["labels"] == hmdb51["train"].features["label"].str2int("brush_hair")
    assert LOW - 1e-4 <= clip.min() and clip.max() <= HIGH + 1e-4
    assert clip.min() < LOW + 0.3 and clip.max() > HIGH - 0.3  # black and white bars survive the crop
    random.seed(0)
    first = train[0]["pixel_values"]
    random.seed(0)
    assert torch.equal(train[0]["pixel_values"], first)  # reproducible under a seed
    assert not torch.equal(train[0]["pixel_values"], first)  # and a fresh draw each time


def test_an_evaluation_row_is_the_recipe_eval_clip(hmdb51):
    test = hmdb51["test"]
    row = test[0]
    assert row["num_frames"] == 17  # split 1 tags the 17-frame clip of each class as test
    # 17 frames, 8 x 4 at 30 fps: span 32 > 17, so the start is 0 and the end clamps to the last frame.
    assert clip_indices(SETTINGS, 17, 30.0, clip_index=0) == [0, 4, 8, 13, 16, 16, 16, 16]
    test.set_transform(VideoClipTransform(SETTINGS, train=False))
    expected = spatial_views(read_frames(row["video"], [0, 4, 8, 13, 16, 16, 16, 16]), SETTINGS)[0]
    assert torch.equal(test[0]["pixel_values"], expected)


def test_multi_view_rows_hold_temporal_times_spatial_views_temporal_major(hmdb51):
    settings = ClipSettings(num_frames=4, sample_interval=2, temporal_crops=2, spatial_crops=3)
    train_rows = hmdb51["train"]  # the 40-frame clips: room for two different temporal windows
    row = train_rows[0]
    assert row["num_frames"] == 40
    train_rows.set_transform(VideoClipTransform(settings, train=False, video_backend="decord"))
    views = train_rows[0]["pixel_values"]
    assert views.shape == (6, 4, 3, 112, 112)
    # 4 x 2 at 30 fps spans 8 frames; max start 32; clip i of 2 starts at 32 * i / 2.
    assert [clip_indices(settings, 40, 30.0, i, 2) for i in (0, 1)] == [[0, 2, 4, 7], [16, 18, 20, 23]]
    for clip_index, indices in enumerate([[0, 2, 4, 7], [16, 18, 20, 23]]):
        expected = spatial_views(read_frames(row["video"], indices, "decord"), settings)
        assert torch.equal(views[3 * clip_index:3 * clip_index + 3], expected)
    assert not torch.equal(views[0], views[1]) and not torch.equal(views[1], views[2])  # left, centre, right
    assert not torch.equal(views[1], views[4])  # two different moments

    batch = collate_clips([train_rows[0], train_rows[1]])
    assert batch["pixel_values"].shape == (2, 6, 4, 3, 112, 112)
    assert batch["labels"].tolist() == [0, 1] and batch["labels"].dtype == torch.long


def test_a_video_changed_since_prepare_is_an_error_not_a_frozen_clip(hmdb51_tree, tmp_path):
    """Rows record their file's size and modification time; a replaced or touched file is refused by name."""
    from helpers.video_files import copied_tree

    tree = copied_tree(hmdb51_tree, tmp_path / "tree")
    train = Hmdb51(config_name="split1", data_dir=str(tree), cache_dir=str(tmp_path / "cache"))
    train.download_and_prepare()
    rows = train.as_dataset(split="train")
    rows.set_transform(VideoClipTransform(SETTINGS, train=True))
    assert rows[0]["pixel_values"].shape == (8, 3, 112, 112)
    video = Path(rows.with_format(None)[0]["video"])
    shorter = tmp_path / "shorter.avi"
    write_numbered_video(shorter, 10)
    video.unlink()  # replaced by another file
    shutil.copyfile(shorter, video)
    with pytest.raises(VideoDecodeError, match=re.escape(str(video)) + r".*differs from when the dataset was prepared"
                       r".*prepare the dataset again"):
        rows[0]
    # A row without the file columns still carries the prepared frame count, which gives the change away.
    prepared = rows.with_format(None)[0]
    batch = {name: [value] for name, value in prepared.items() if name not in ("file_size", "file_mtime_ns")}
    with pytest.raises(VideoDecodeError, match=r"did not give frame \d+ of the 40 counted when the dataset was "
                                               r"prepared \(the stream ended after frame 9\)"):
        VideoClipTransform(SETTINGS, train=True)(batch)  # the stored packet list is the old file's
    del batch["packets"]
    with pytest.raises(VideoDecodeError, match=r"lists 10 frames, but 40 were counted when the dataset was prepared"):
        VideoClipTransform(SETTINGS, train=True)(batch)


def test_stored_packets_give_the_same_clips_as_a_pass_over_the_file(hmdb51):
    """The builder stores each stream's packet list; reads that use it (no pass over the file) give the pixels of
    reads that make their own, and the list is the one the file holds."""
    from hf_video.clips.packet_lists import packet_columns, packet_list
    from hf_video.clips.pyav_container import open_pyav

    rows = hmdb51["train"].with_format(None)
    prepared = rows[0]
    container, stream = open_pyav(prepared["video"])
    with container:
        assert prepared["packets"] == packet_columns(packet_list(prepared["video"], container, stream))
    assert len(prepared["packets"]["pts"]) == prepared["num_frames"] and any(prepared["packets"]["keyframe"])
    batch = {name: [row[name] for row in rows.select(range(4))] for name in rows.column_names}
    without = {name: values for name, values in batch.items() if name != "packets"}
    for train in (True, False):
        random.seed(0)
        with_packets = VideoClipTransform(SETTINGS, train=train)(batch)["pixel_values"]
        random.seed(0)
        assert all(torch.equal(a, b) for a, b in
                   zip(with_packets, VideoClipTransform(SETTINGS, train=train)(without)["pixel_values"]))
    broken = {**batch, "packets": [{"pts": [0, 1], "dts": [0]}] * 4}
    with pytest.raises(ValueError, match="is not a packet list as `packet_columns` writes it.*prepare the dataset"):
        VideoClipTransform(SETTINGS, train=True)(broken)


def test_view_rows_of_one_batch_give_each_view_as_read_alone(hmdb51):
    """Rows with a view_index (as expand_views makes them) in one batch share a decode per temporal clip; every view
    is the one read alone."""
    settings = ClipSettings(num_frames=4, sample_interval=2, temporal_crops=2, spatial_crops=3)
    rows = hmdb51["train"].with_format(None).select([0, 0, 0, 0, 0, 0, 1, 1])
    transform = VideoClipTransform(settings, train=False)
    view_index = [0, 1, 2, 3, 4, 5, 4, 0]
    batch = {name: rows[name] for name in rows.column_names}
    views = transform({**batch, "view_index": view_index})["pixel_values"]
    every_view = [transform.read_eval_views(row["video"], row["num_frames"], row["fps"]) for row in rows]
    for view, all_views, index in zip(views, every_view, view_index):
        assert torch.equal(view, all_views[index])


def test_transform_pickles_and_checks_its_input(hmdb51):
    transform = pickle.loads(pickle.dumps(VideoClipTransform(SETTINGS, train=False, video_backend="decord")))
    assert transform.settings == SETTINGS and transform.video_backend == "decord"
    with pytest.raises(KeyError, match="missing \\['num_frames', 'fps'\\]"):
        transform({"video": ["x.avi"], "label": [0]})
    with pytest.raises(ValueError, match="video_backend='torchcodec'"):
        VideoClipTransform(video_backend="torchcodec")


def test_collator_stacks_clips_and_refuses_mixed_shapes():
    rows = [{"pixel_values": torch.zeros(8, 3, 112, 112), "labels": label, "video_id": "x"} for label in (3, 4)]
    batch = collate_clips(rows)
    assert sorted(batch) == ["labels", "pixel_values"] and batch["pixel_values"].shape == (2, 8, 3, 112, 112)
    with pytest.raises(ValueError, match=r"one shape; got \[\(4, 3, 112, 112\), \(8, 3, 112, 112\)\]"):
        collate_clips([rows[0], {"pixel_values": torch.zeros(4, 3, 112, 112), "labels": 1}])


def test_a_dataloader_with_two_workers_decodes_in_the_workers(hmdb51_tree, hmdb51_cache):
    """In a fresh process: 2 forked workers, each backend; the parent never imports a decoder."""
    script = textwrap.dedent(f"""
        import json, sys
        import torch
        from torch.utils.data import DataLoader
        from hf_video.clips.collate import collate_clips
        from hf_video.data.hmdb51 import Hmdb51
        from hf_video.clips.clip_settings import ClipSettings
        from hf_video.clips.clip_transform import VideoClipTransform

        train = Hmdb51(config_name="split1", data_dir={str(hmdb51_tree)!r},
                       cache_dir={str(hmdb51_cache)!r}).as_dataset(split="train")
        report = {{}}
        for backend in ("pyav", "decord"):
            train.set_transform(VideoClipTransform(ClipSettings(num_frames=8, sample_interval=4), True, backend))
            loader = DataLoader(train, batch_size=8, num_workers=2, collate_fn=collate_clips,
                                multiprocessing_context="fork")
            batches = list(loader)
            pixels = torch.cat([batch["pixel_values"] for batch in batches])
            labels = torch.cat([batch["labels"] for batch in batches])
            report[backend] = {{"shape": list(pixels.shape), "labels": labels.tolist(),
                               "min": pixels.min().item(), "max": pixels.max().item(),
                               "finite": bool(pixels.isfinite().all())}}
        report["parent_decoders"] = sorted(name for name in ("av", "decord") if name in sys.modules)
        print(json.dumps(report))
    """)
    result = subprocess.run([sys.executable, "-c", script], capture_output=True, text=True, timeout=300)
    assert result.returncode == 0, result.stderr[-3000:]
    report = json.loads(result.stdout.strip().splitlines()[-1])
    assert report["parent_decoders"] == []
    for backend in ("pyav", "decord"):
        assert report[backend]["shape"] == [51, 8, 3, 112, 112]
        assert report[backend]["labels"] == list(range(51))  # every row once, in order
        assert report[backend]["finite"]
        assert LOW - 1e-4 <= report[backend]["min"] < LOW + 0.3 and HIGH - 0.3 < report[backend]["max"] <= HIGH + 1e-4
