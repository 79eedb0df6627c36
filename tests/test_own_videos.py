"""Your own videos: class folders, datasets' videofolder layout, list files with trimmed segments, and a parquet
dataset of video bytes, each prepared with the builders' probing and checks and decoded frame-exactly (the frames
say their own index; the segments' frames are known from the timestamps the test wrote)."""

import csv
import dataclasses
import json
from pathlib import Path

import datasets
import numpy as np
import pytest

from hf_video.clips import ClipSettings, VideoClipTransform
from hf_video.clips.sampling import sample_segment_indices
from hf_video.data import load_videos, prepare_videos
from hf_video.data.own_videos import OwnVideosError
from helpers.own_videos import CLASSES, FORMATS, SUFFIXES, class_tree, write_clip
from helpers.video_corpus import write_corpus
from helpers.video_files import frame_number


def test_class_folders_with_split_folders_mixed_containers_and_unicode_names(tmp_path):
    root = class_tree(tmp_path / "videos", per_class=2, splits=("train", "validation"))
    prepared = load_videos(root, cache_dir=str(tmp_path / "cache"))
    assert set(prepared) == {"train", "validation"}
    train = prepared["train"]
    assert train.features["label"].names == sorted(CLASSES) and len(train) == 6
    for row in train:
        name = train.features["label"].int2str(row["label"])
        index = int(Path(row["video"]).stem.split()[-1])
        assert Path(row["video"]).parent.name == name and row["num_frames"] == 12 + index + CLASSES.index(name)
    # Decoded exactly: a clip's frames are the frames the sampler picked.
    train.set_transform(VideoClipTransform(ClipSettings(num_frames=4, sample_mode="segment", image_size=32,
                                                        temporal_crops=1, spatial_crops=1), train=False))
    assert tuple(train[0]["pixel_values"].shape) == (4, 3, 32, 32)


def test_one_folder_and_a_seeded_stratified_validation_split(tmp_path):
    root = class_tree(tmp_path / "videos", per_class=4)
    first = load_videos(root / "train", train_val_split=0.25, seed=3, cache_dir=str(tmp_path / "cache"))
    again = load_videos(root / "train", train_val_split=0.25, seed=3, cache_dir=str(tmp_path / "cache"))
    other = load_videos(root / "train", train_val_split=0.25, seed=4, cache_dir=str(tmp_path / "cache"))
    assert sorted(first["validation"]["label"]) == [0, 1, 2]  # one of each class's four
    assert len(first["train"]) == 9 and first["validation"]["video"] == again["validation"]["video"]
    assert first["validation"]["video"] != other["validation"]["video"]


def test_videofolder_metadata_with_file_names_and_a_label_column(tmp_path):
    root = tmp_path / "meta"
    rows = []
    for index, name in enumerate(CLASSES * 2):
        write_clip(root / "train" / f"v{index}.mp4", 10 + index, "h264_mp4")
        rows.append({"file_name": f"v{index}.mp4", "action": name})
    with open(root / "train" / "metadata.csv", "w", newline="", encoding="utf-8") as file:
        writer = csv.DictWriter(file, ["file_name", "action"])
        writer.writeheader()
        writer.writerows(rows)
    prepared = load_videos(root, label_column="action", cache_dir=str(tmp_path / "cache"))
    train = prepared["train"]
    assert train.features["label"].names == sorted(CLASSES)
    by_file = {Path(row["video"]).name: (train.features["label"].int2str(row["label"]), row["num_frames"])
               for row in train}
    assert by_file == {f"v{index}.mp4": (name, 10 + index) for index, name in enumerate(CLASSES * 2)}


def test_list_files_with_relative_paths_and_trimmed_segments_of_a_variable_rate_video(tmp_path):
    corpus = write_corpus(tmp_path / "corpus")  # vfr.mp4: frame durations 20, 50, 33 ms in turn
    lists = tmp_path / "lists"
    lists.mkdir()
    write_clip(lists / "clips" / "long walk.avi", 40, fps=10)
    (lists / "clips" / "vfr.mp4").write_bytes(corpus["vfr.mp4"].read_bytes())
    with open(lists / "train.csv", "w", newline="", encoding="utf-8") as file:
        file.write("path,label,start,end\n"
                   "clips/long walk.avi,walk,1.0,2.0\n"
                   "clips/long walk.avi,café crème,,\n"
                   "clips/vfr.mp4,walk,0.5,1.0\n")
    with open(lists / "validation.jsonl", "w", encoding="utf-8") as file:
        file.write(json.dumps({"video": "clips/long walk.avi", "label": "walk", "start": 3}) + "\n")
    prepared = load_videos(lists, cache_dir=str(tmp_path / "cache"))
    train = prepared["train"]
    assert train.features["label"].names == ["café crème", "walk"]
    assert (train[0]["start_frame"], train[0]["end_frame"]) == (10, 20)  # 10 fps: frames 10..19
    assert (train[1]["start_frame"], train[1]["end_frame"]) == (0, 40)
    times = np.cumsum([0] + [(20, 50, 33)[index % 3] for index in range(59)]) / 1000
    expected = [index for index, time in enumerate(times) if 0.5 <= time < 1.0]
    assert (train[2]["start_frame"], train[2]["end_frame"]) == (expected[0], expected[-1] + 1)
    assert (prepared["validation"][0]["start_frame"], prepared["validation"][0]["end_frame"]) == (30, 40)
    # Clips are sampled inside the segment: the decoded frames say which they are.
    settings = ClipSettings(num_frames=5, sample_mode="segment", image_size=96, eval_crop_fraction=1.0,
                            temporal_crops=1, spatial_crops=1, mean=(0.0, 0.0, 0.0), std=(1.0, 1.0, 1.0))
    for first, stop in [(10, 20)]:
        row = train.select([0])
        clip = VideoClipTransform(settings, train=False)(row[:1])["pixel_values"][0]
        shown = [frame_number((frame.permute(1, 2, 0).numpy() * 255).round().astype(np.uint8)) for frame in clip]
        # The sampler over the segment's frames (tested against the original elsewhere), moved to its first frame.
        assert shown == [first + offset for offset in sample_segment_indices(stop - first, 5, clip_index=0)]
        # Training clips (a random crop of the whole frame, no flip: the bars stay readable) too, wherever they start.
        whole_frame = dataclasses.replace(settings, crop_scale=(1.0, 1.0), crop_ratio=(1.0, 1.0), flip_probability=0.0)
        for training_clip in (VideoClipTransform(whole_frame, train=True)(row[:1])["pixel_values"][0]
                              for _ in range(3)):
            numbers = [frame_number((frame.permute(1, 2, 0).numpy() * 255).clip(0, 255).round().astype(np.uint8))
                       for frame in training_clip]
            assert all(first <= number < stop for number in numbers), numbers


def test_a_parquet_dataset_of_video_bytes_is_prepared_and_decoded_from_memory(tmp_path):
    videos = [write_clip(tmp_path / "src" / f"{index}{SUFFIXES[FORMATS[index % 3]]}", 10 + index, FORMATS[index % 3])
              for index in range(6)]
    table = datasets.Dataset.from_dict({
        "clip": [{"bytes": path.read_bytes(), "path": path.name} for path in videos],
        "action": [CLASSES[index % 3] for index in range(6)],
    }).cast_column("clip", datasets.Video(decode=False)).cast_column("action", datasets.ClassLabel(names=CLASSES))
    table.to_parquet(str(tmp_path / "videos.parquet"))
    for path in videos:
        path.unlink()  # nothing but the bytes is left
    loaded = datasets.load_dataset("parquet", data_files=str(tmp_path / "videos.parquet"),
                                   cache_dir=str(tmp_path / "hf"))
    prepared = prepare_videos(loaded, video_column="clip", label_column="action", cache_dir=str(tmp_path / "cache"))
    train = prepared["train"]
    assert train.features["label"].names == list(CLASSES)  # the ClassLabel's order, not sorted
    assert [row["num_frames"] for row in train] == [10 + index for index in range(6)]
    assert train[0]["video"]["path"] == "0.avi" and train[0]["video"]["bytes"][:4] == b"RIFF"
    settings = ClipSettings(num_frames=3, sample_mode="segment", image_size=96, eval_crop_fraction=1.0,
                            temporal_crops=1, spatial_crops=1, mean=(0.0, 0.0, 0.0), std=(1.0, 1.0, 1.0))
    clip = VideoClipTransform(settings, train=False)(train[4:5])["pixel_values"][0]
    shown = [frame_number((frame.permute(1, 2, 0).numpy() * 255).round().astype(np.uint8)) for frame in clip]
    assert shown == [2, 7, 12]  # segment middles of 14 frames: 2.33, 7, 11.67


def test_a_dataset_of_paths_and_string_labels_as_a_user_builds_it(tmp_path):
    """`Dataset.from_dict({"video": [...], "label": [...]})` used to fail in VideoClipTransform (no frame count)."""
    paths = [str(write_clip(tmp_path / f"{index}.avi", 8 + index)) for index in range(4)]
    dataset = datasets.Dataset.from_dict({"video": paths, "label": ["b", "a", "b", "a"]})
    with pytest.raises(KeyError, match=r"missing \['num_frames', 'fps'\].*hf_video.data.prepare_videos\(dataset\)"):
        dataset.with_transform(VideoClipTransform(ClipSettings(num_frames=4, image_size=32)))[0]
    prepared = prepare_videos(dataset, cache_dir=str(tmp_path / "cache"))["train"]
    assert prepared.features["label"].names == ["a", "b"] and prepared["label"] == [1, 0, 1, 0]
    assert prepared["num_frames"] == [8, 9, 10, 11]


def test_every_bad_file_label_and_segment_is_named_at_once_and_nothing_is_prepared(tmp_path):
    good = write_clip(tmp_path / "good.avi", 10)
    (tmp_path / "broken.mp4").write_bytes(b"\x00" * 2000)
    with open(tmp_path / "train.csv", "w", encoding="utf-8") as file:
        file.write("video,label,start,end\n"
                   "good.avi,a,,\n"
                   "broken.mp4,a,,\n"
                   "missing.avi,b,,\n"
                   "good.avi,b,5,6\n"
                   "good.avi,b,2,1\n"
                   "good.avi,b,soon,\n")
    with pytest.raises(OwnVideosError) as raised:
        load_videos(tmp_path / "train.csv", cache_dir=str(tmp_path / "cache"))
    message = str(raised.value)
    assert "missing.avi: no such file" in message and "end=1.0 is not after start=2.0" in message
    assert "start='soon'" in message
    assert good.exists()
    # The files that exist and are listed well: the broken one and the empty segment are named next.
    with open(tmp_path / "train.csv", "w", encoding="utf-8") as file:
        file.write("video,label,start,end\ngood.avi,a,,\nbroken.mp4,a,,\ngood.avi,b,5,6\n")
    with pytest.raises(OwnVideosError) as raised:
        load_videos(tmp_path / "train.csv", cache_dir=str(tmp_path / "cache"))
    message = str(raised.value)
    assert "broken.mp4" in message and "no frame is shown between start=5.0 and end=6.0" in message
    assert "2 problem(s)" in message
    assert not list((tmp_path / "cache").glob("**/*.arrow"))


def test_labels_that_are_neither_names_nor_a_class_label_are_named(tmp_path):
    paths = [str(write_clip(tmp_path / f"{index}.avi", 8)) for index in range(2)]
    with pytest.raises(OwnVideosError, match=r"the label column holds 0, 1: a label is a class name"):
        prepare_videos(datasets.Dataset.from_dict({"video": paths, "label": [0, 1]}))
    with pytest.raises(OwnVideosError, match=r"the train split has no video column: none of video, path, file_name"):
        prepare_videos(datasets.Dataset.from_dict({"clip": paths, "label": ["a", "b"]}))


def test_your_videos_export_like_a_builders_with_their_segments_and_bytes(tmp_path):
    """Prepared own videos go through the export as the builders' splits do (then --dataset_name or --streaming):
    paths are embedded, bytes are kept, trimmed segments stay trimmed."""
    from hf_video.data import export_dataset, load_export

    write_clip(tmp_path / "lists" / "long.avi", 30)
    (tmp_path / "lists" / "train.csv").write_text("path,label,start,end\nlong.avi,a,1.0,2.0\nlong.avi,b,,\n")
    (tmp_path / "lists" / "test.csv").write_text("path,label,start,end\nlong.avi,a,0,1\n")
    listed = load_videos(tmp_path / "lists", cache_dir=str(tmp_path / "cache"))
    exported = load_export(export_dataset(listed, tmp_path / "export", "mine"), split="train")
    assert (exported[0]["start_frame"], exported[0]["end_frame"], exported[0]["video"]["bytes"][:4]) == (10, 20,
                                                                                                         b"RIFF")
    settings = ClipSettings(num_frames=3, sample_mode="segment", image_size=96, eval_crop_fraction=1.0,
                            temporal_crops=1, spatial_crops=1, mean=(0.0, 0.0, 0.0), std=(1.0, 1.0, 1.0))
    clip = VideoClipTransform(settings, train=False)(exported[:1])["pixel_values"][0]
    shown = [frame_number((frame.permute(1, 2, 0).numpy() * 255).round().astype(np.uint8)) for frame in clip]
    assert shown == [10 + offset for offset in sample_segment_indices(10, 3, clip_index=0)]

    bytes_rows = datasets.Dataset.from_dict({"video": [(tmp_path / "lists" / "long.avi").read_bytes()] * 2,
                                             "label": ["a", "b"]})
    in_memory = prepare_videos(datasets.DatasetDict({"train": bytes_rows, "test": bytes_rows}),
                               cache_dir=str(tmp_path / "cache"))
    exported = load_export(export_dataset(in_memory, tmp_path / "export_bytes", "bytes"), split="test")
    assert exported["num_frames"] == [30, 30] and exported[1]["video"]["bytes"] == bytes_rows[1]["video"]
