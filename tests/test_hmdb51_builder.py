"""The HMDB51 datasets builder on generated HMDB51-layout trees named after real clips."""

import logging
import os
import re
import shutil
import time
import zipfile
from pathlib import Path

import datasets
import pytest

from hf_video.data.hmdb51 import Hmdb51, Hmdb51DataError, load_hmdb51
from hf_video.data.hmdb51_labels import HMDB51_CLASSES
from helpers.video_files import CLIPS_PER_CLASS, copied_tree, real_hmdb51_names

TWO_CLASSES = ("climb", "climb_stairs")  # the pair whose order EssentialMC2 swaps


def prepare(data_dir, cache_dir, split=1, num_proc=None, **config_kwargs):
    builder = Hmdb51(config_name=f"split{split}", data_dir=str(data_dir), cache_dir=str(cache_dir), **config_kwargs)
    builder.download_and_prepare(num_proc=num_proc)
    return builder


@pytest.fixture
def small_tree(hmdb51_tree, tmp_path):
    """A two-class tree (copied from the session tree) to break in the bad-input tests."""
    root = tmp_path / "small"
    (root / "annotations").mkdir(parents=True)
    for class_name in TWO_CLASSES:
        copied_tree(hmdb51_tree / "videos" / class_name, root / "videos" / class_name)
        for split in (1, 2, 3):
            name = f"{class_name}_test_split{split}.txt"
            shutil.copyfile(hmdb51_tree / "annotations" / name, root / "annotations" / name)
    return root


@pytest.mark.parametrize("split", [1, 2])
def test_splits_labels_ids_and_metadata(hmdb51_tree, reference_dir, tmp_path, split):
    dataset = prepare(hmdb51_tree, tmp_path / "cache", split=split, num_proc=2).as_dataset()
    assert sorted(dataset) == ["test", "train"]
    assert dataset["train"].num_rows == dataset["test"].num_rows == 51
    assert dataset["train"].features["label"].names == list(HMDB51_CLASSES)
    names = real_hmdb51_names(reference_dir)
    for split_name, tag in (("train", 1), ("test", 2)):
        expected = {}
        for class_name in HMDB51_CLASSES:
            for video_name, (*tags, num_frames) in zip(names[class_name], CLIPS_PER_CLASS):
                if tags[split - 1] == tag:
                    expected[f"{class_name}/{video_name}"] = (HMDB51_CLASSES.index(class_name), num_frames)
        rows = dataset[split_name]
        assert {row["video_id"]: (row["label"], row["num_frames"]) for row in rows} == expected
        for row in rows:
            assert Path(row["video"]) == hmdb51_tree / "videos" / row["video_id"]
            assert (row["fps"], row["width"], row["height"]) == (30.0, 320, 240)
    # Real names with brackets, parentheses and exclamation marks made it through.
    ids = list(dataset["train"]["video_id"]) + list(dataset["test"]["video_id"])
    assert any("[" in video_id for video_id in ids) and any("!" in video_id for video_id in ids)
    assert any("(" in video_id for video_id in ids)


def test_sorted_folder_order_puts_climb_before_climb_stairs(hmdb51_tree, tmp_path):
    labels = prepare(hmdb51_tree, tmp_path / "cache").info.features["label"]
    assert labels.str2int("climb") + 1 == labels.str2int("climb_stairs")
    assert labels.str2int("kick") < labels.str2int("kick_ball") and labels.str2int("sword") < labels.str2int(
        "sword_exercise")


def test_second_prepare_reuses_the_cache_until_a_file_changes(small_tree, tmp_path):
    first = prepare(small_tree, tmp_path / "cache", class_names=TWO_CLASSES)
    train = first.as_dataset(split="train")
    again = prepare(small_tree, tmp_path / "cache", class_names=TWO_CLASSES)
    assert again.cache_dir == first.cache_dir
    assert list(again.as_dataset(split="train")["video_id"]) == list(train["video_id"])

    moved = shutil.copytree(small_tree, tmp_path / "moved")
    assert Hmdb51(config_name="split1", data_dir=str(moved), cache_dir=str(tmp_path / "cache"),
                  class_names=TWO_CLASSES).cache_dir != first.cache_dir

    # A removed video changes the key: the next prepare probes again and names it, instead of reusing the cache.
    os.remove(train[0]["video"])
    changed = Hmdb51(config_name="split1", data_dir=str(small_tree), cache_dir=str(tmp_path / "cache"),
                     class_names=TWO_CLASSES)
    assert changed.cache_dir != first.cache_dir
    with pytest.raises(Hmdb51DataError, match=re.escape(train[0]["video_id"].split("/")[1])):
        changed.download_and_prepare()


def test_a_video_rewritten_with_its_size_and_time_restored_is_prepared_again(small_tree, tmp_path):
    """The rule: the cache key holds each file's inode change time beside its size and modification time, so a file
    rewritten in place with both restored (as `touch -r` or `rsync --times` leave it) is probed again."""
    first = prepare(small_tree, tmp_path / "cache", class_names=TWO_CLASSES)
    path = first.as_dataset(split="train")[0]["video"]
    status = os.stat(path)
    data = bytearray(open(path, "rb").read())
    data[-10:] = bytes(10)  # same size
    time.sleep(0.01)
    with open(path, "r+b") as file:
        file.write(data)
    os.utime(path, ns=(status.st_atime_ns, status.st_mtime_ns))
    assert (os.stat(path).st_size, os.stat(path).st_mtime_ns) == (status.st_size, status.st_mtime_ns)
    assert Hmdb51(config_name="split1", data_dir=str(small_tree), cache_dir=str(tmp_path / "cache"),
                  class_names=TWO_CLASSES).cache_dir != first.cache_dir


def test_load_hmdb51_returns_train_and_test(small_tree, tmp_path):
    dataset = load_hmdb51(str(small_tree), split=3, cache_dir=str(tmp_path / "cache"), class_names=TWO_CLASSES)
    assert {name: rows.num_rows for name, rows in dataset.items()} == {"train": 2, "test": 2}
    assert dataset["train"].features["label"].names == list(TWO_CLASSES)


def test_missing_folders_are_named(small_tree, tmp_path):
    shutil.rmtree(small_tree / "annotations")
    with pytest.raises(Hmdb51DataError, match=r"missing folder .*annotations/"):
        prepare(small_tree, tmp_path / "cache", class_names=TWO_CLASSES)
    shutil.rmtree(small_tree / "videos")
    with pytest.raises(Hmdb51DataError, match=r"neither the folders videos/ and annotations/ nor the archives"):
        prepare(small_tree, tmp_path / "cache", class_names=TWO_CLASSES)
    with pytest.raises(Hmdb51DataError, match="is not a folder"):
        prepare(tmp_path / "nowhere", tmp_path / "cache", class_names=TWO_CLASSES)


def test_every_problem_is_listed_at_once_and_nothing_is_written(small_tree, tmp_path):
    annotations, videos = small_tree / "annotations", small_tree / "videos"
    # 1. a class folder without split files
    (videos / "juggle").mkdir()
    # 2. a line that does not parse, 3. a split file naming a missing video
    split_file = annotations / "climb_test_split1.txt"
    split_file.write_text(split_file.read_text() + "not_a_valid_line\nghost_(1)_#2.avi 1\n")
    # 4. an unreadable video and 5. an empty one
    climb_stairs = sorted((videos / "climb_stairs").iterdir())
    for path, content in ((climb_stairs[0], b"RIFF" + b"\x00" * 500), (climb_stairs[1], b"")):
        path.unlink()
        path.write_bytes(content)
    # 6. a split file for a class that is not configured
    (annotations / "juggle_test_split2.txt").write_text("x.avi 1\n")  # split 2: ignored by split1
    (annotations / "dance_test_split1.txt").write_text("x.avi 1\n")

    with pytest.raises(Hmdb51DataError) as raised:
        prepare(small_tree, tmp_path / "cache", class_names=TWO_CLASSES)
    problems = raised.value.problems
    message = str(raised.value)
    assert len(problems) == 6, message
    assert f"class folder {videos / 'juggle'} has no split file" in message
    assert f"{split_file}:4: 'not_a_valid_line' does not parse" in message
    ghost = videos / "climb" / "ghost_(1)_#2.avi"
    assert f"{split_file}:5 names ghost_(1)_#2.avi, but {ghost} does not exist" in message
    assert f"unreadable video: {climb_stairs[0]}" in message
    assert f"unreadable video: {climb_stairs[1]}: the file is empty" in message
    assert "unknown class 'dance'" in message
    assert not list((tmp_path / "cache").rglob("*.arrow")), "a failed prepare must not leave a dataset behind"


def test_missing_split_file_and_bad_tag_are_named(small_tree, tmp_path):
    (small_tree / "annotations" / "climb_stairs_test_split1.txt").unlink()
    (small_tree / "annotations" / "climb_test_split1.txt").write_text("a.avi 3\n")
    with pytest.raises(Hmdb51DataError) as raised:
        prepare(small_tree, tmp_path / "cache", class_names=TWO_CLASSES)
    message = str(raised.value)
    assert "climb_stairs_test_split1.txt for class 'climb_stairs'" in message
    assert "climb_test_split1.txt:1: 'a.avi 3' does not parse" in message


def test_skip_unreadable_leaves_them_out_and_says_which(small_tree, tmp_path, caplog):
    victim = sorted((small_tree / "videos" / "climb").iterdir())[0]
    victim.unlink()
    victim.write_bytes(b"not a video")
    with caplog.at_level(logging.WARNING):
        builder = prepare(small_tree, tmp_path / "cache", class_names=TWO_CLASSES, skip_unreadable=True)
    dataset = builder.as_dataset()
    assert "skipped 1 unreadable video(s)" in caplog.text and str(victim) in caplog.text
    all_ids = list(dataset["train"]["video_id"]) + list(dataset["test"]["video_id"])
    assert len(all_ids) == 3 and f"climb/{victim.name}" not in all_ids


def test_prepares_from_the_official_archive_layout(small_tree, tmp_path):
    """hmdb51_org.rar holds one archive per class, test_train_splits.rar a folder of split files. No tool here can
    write RAR, and datasets picks the extractor by magic number, so these archives are ZIPs under the official names;
    RAR extraction itself is tested on real RAR files in test_rar_extraction.py."""
    archives = tmp_path / "archives"
    archives.mkdir()
    for class_name in TWO_CLASSES:
        with zipfile.ZipFile(archives / f"{class_name}.rar", "w") as class_archive:
            for video in (small_tree / "videos" / class_name).iterdir():
                class_archive.write(video, f"{class_name}/{video.name}")
    with zipfile.ZipFile(archives / "hmdb51_org.rar", "w") as outer:
        for class_name in TWO_CLASSES:
            outer.write(archives / f"{class_name}.rar", f"{class_name}.rar")
    with zipfile.ZipFile(archives / "test_train_splits.rar", "w") as splits:
        for split_file in (small_tree / "annotations").iterdir():
            splits.write(split_file, f"testTrainMulti_7030_splits/{split_file.name}")
    data_dir = tmp_path / "downloaded"
    data_dir.mkdir()
    for name in ("hmdb51_org.rar", "test_train_splits.rar"):
        shutil.move(archives / name, data_dir / name)

    from_archives = prepare(data_dir, tmp_path / "cache", class_names=TWO_CLASSES).as_dataset()
    from_tree = prepare(small_tree, tmp_path / "cache", class_names=TWO_CLASSES).as_dataset()
    for split_name in ("train", "test"):
        for column in ("video_id", "label", "num_frames"):
            assert list(from_archives[split_name][column]) == list(from_tree[split_name][column])
        assert all(Path(path).is_file() for path in from_archives[split_name]["video"])

    (data_dir / "test_train_splits.rar").unlink()
    with pytest.raises(Hmdb51DataError, match="missing archive .*test_train_splits.rar"):
        prepare(data_dir, tmp_path / "cache2", class_names=TWO_CLASSES)


def test_config_values_are_checked():
    with pytest.raises(ValueError, match="split_number=4"):
        Hmdb51(config_name="split1", split_number=4)
    with pytest.raises(ValueError, match="distinct class folder names"):
        Hmdb51(config_name="split1", class_names=("a", "a"))
    with pytest.raises(ValueError, match="class_names='aa': expected a list of class folder names, not one string"):
        Hmdb51(config_name="split1", class_names="aa")
    assert isinstance(Hmdb51(config_name="split2").info.features["label"], datasets.ClassLabel)


def test_a_byte_order_mark_is_not_part_of_a_name_and_invisible_characters_are_named(small_tree, tmp_path):
    split_file = small_tree / "annotations" / "climb_test_split1.txt"
    text = split_file.read_text(encoding="utf-8")
    split_file.write_text("\ufeff" + text, encoding="utf-8")  # what some Windows editors write
    dataset = prepare(small_tree, tmp_path / "cache", class_names=TWO_CLASSES).as_dataset()
    assert dataset["train"].num_rows == 2

    first_name = text.split()[0]
    split_file.write_text(text.replace(first_name, first_name.replace(".avi", "\u200b.avi"), 1), encoding="utf-8")
    with pytest.raises(Hmdb51DataError, match="invisible characters U\\+200B: remove them"):
        prepare(small_tree, tmp_path / "cache", class_names=TWO_CLASSES)


def test_an_unreadable_split_file_joins_the_list_of_problems(small_tree, tmp_path):
    split_file = small_tree / "annotations" / "climb_test_split1.txt"
    split_file.unlink()
    split_file.mkdir()  # unreadable even for root, who ignores file permissions
    (small_tree / "annotations" / "climb_stairs_test_split1.txt").write_text("a.avi 3\n")
    with pytest.raises(Hmdb51DataError) as raised:
        prepare(small_tree, tmp_path / "cache", class_names=TWO_CLASSES)
    assert raised.value.problems[0].startswith(f"{split_file}: cannot be read")
    assert "climb_stairs_test_split1.txt:1: 'a.avi 3' does not parse" in raised.value.problems[1]


def break_video(path: Path) -> bytes:
    """Replace a video with bytes that do not decode; returns the original bytes to repair it with."""
    original = path.read_bytes()
    path.unlink()  # replaced by another file
    path.write_bytes(b"not a video")
    return original


def repair_video(path: Path, original: bytes) -> None:
    path.unlink()
    path.write_bytes(original)


def test_skipping_every_video_is_an_error_that_lists_them_and_caches_nothing(small_tree, tmp_path):
    videos = sorted((small_tree / "videos").rglob("*.avi"))
    originals = {video: break_video(video) for video in videos}
    with pytest.raises(Hmdb51DataError) as raised:
        prepare(small_tree, tmp_path / "cache", class_names=TWO_CLASSES, skip_unreadable=True)
    message = str(raised.value)
    assert "no train video is left after skipping" in message and "no test video is left" in message
    assert message.count("unreadable video: ") == 4  # the two train and two test videos of split 1, each named
    for video, original in originals.items():
        repair_video(video, original)
    dataset = prepare(small_tree, tmp_path / "cache", class_names=TWO_CLASSES, skip_unreadable=True).as_dataset()
    assert dataset["train"].num_rows == dataset["test"].num_rows == 2  # the same call, once repaired, succeeds


def test_a_skip_is_never_permanent(small_tree, tmp_path):
    victim = sorted((small_tree / "videos" / "climb").iterdir())[0]
    original = break_video(victim)
    skipped = prepare(small_tree, tmp_path / "cache", class_names=TWO_CLASSES, skip_unreadable=True).as_dataset()
    ids = list(skipped["train"]["video_id"]) + list(skipped["test"]["video_id"])
    assert f"climb/{victim.name}" not in ids
    repair_video(victim, original)
    repaired = prepare(small_tree, tmp_path / "cache", class_names=TWO_CLASSES, skip_unreadable=True).as_dataset()
    ids = list(repaired["train"]["video_id"]) + list(repaired["test"]["video_id"])
    assert f"climb/{victim.name}" in ids


def test_a_truncated_video_is_named_in_a_warning_or_refused_when_strict(small_tree, tmp_path, caplog):
    victim = sorted((small_tree / "videos" / "climb").iterdir())[0]  # the 40-frame clip, a train video in split 1
    data = victim.read_bytes()
    victim.unlink()
    victim.write_bytes(data[: int(len(data) * 0.7)])
    with caplog.at_level(logging.WARNING):
        dataset = prepare(small_tree, tmp_path / "cache", class_names=TWO_CLASSES).as_dataset()
    assert f"{victim}: its container promises 40 frames, but 26 decode" in caplog.text
    row = dataset["train"].filter(lambda row: row["video_id"] == f"climb/{victim.name}")[0]
    assert row["num_frames"] == 26 and row["file_size"] == victim.stat().st_size
    with pytest.raises(Hmdb51DataError, match=re.escape(f"{victim}: its container promises 40 frames, but 26")):
        prepare(small_tree, tmp_path / "cache", class_names=TWO_CLASSES, strict=True)


def test_a_cache_inside_the_data_folder_does_not_change_its_key(small_tree):
    cache = small_tree / "cache"
    first = prepare(small_tree, cache, class_names=TWO_CLASSES)
    assert Hmdb51(config_name="split1", data_dir=str(small_tree), cache_dir=str(cache),
                  class_names=TWO_CLASSES).cache_dir == first.cache_dir  # the cache's own files are not keyed on


def test_relative_paths_let_a_prepared_dataset_move_with_its_folder(hmdb51_tree, tmp_path):
    """relative_paths=True: rows name their videos relative to data_dir; the folder copied elsewhere, the transform
    with video_root reads the same clips; without video_root it says what to pass."""
    import torch

    from hf_video.clips.clip_settings import ClipSettings
    from hf_video.clips.clip_transform import VideoClipTransform
    from hf_video.data.video_builder import _relative_paths

    moved = tmp_path / "moved"
    shutil.copytree(hmdb51_tree, moved, symlinks=False)  # copy2: sizes and modification times kept
    relative = prepare(hmdb51_tree, tmp_path / "cache", relative_paths=True).as_dataset(split="test")
    absolute = prepare(hmdb51_tree, tmp_path / "cache").as_dataset(split="test")
    row = relative.with_format(None)[0]
    assert row["video"] == os.path.join("videos", row["video_id"]) and not os.path.isabs(row["video"])
    settings = ClipSettings(num_frames=4, sample_interval=2, image_size=32)
    batch, reference = relative.with_format(None)[:3], absolute.with_format(None)[:3]
    from_copy = VideoClipTransform(settings, train=False, video_root=moved)(batch)["pixel_values"]
    from_original = VideoClipTransform(settings, train=False)(reference)["pixel_values"]
    assert all(torch.equal(a, b) for a, b in zip(from_copy, from_original))
    with pytest.raises(ValueError, match=r"is relative .*pass VideoClipTransform\(\.\.\., video_root="):
        VideoClipTransform(settings, train=False)(batch)
    from hf_video.data.export import export_dataset, load_export

    with pytest.raises(ValueError, match="pass video_root=<that folder>"):
        export_dataset({"test": relative}, tmp_path / "export", "HMDB51")
    exported = load_export(export_dataset({"test": relative}, tmp_path / "export", "HMDB51", video_root=moved))
    assert exported["test"].num_rows == relative.num_rows
    problems = _relative_paths({"/elsewhere/a.avi": "/elsewhere/a.avi"}, str(hmdb51_tree))
    assert "needs the videos extracted under data_dir" in problems[0]


def test_rows_of_packed_xvid_and_rotated_videos_are_what_ffmpeg_shows(small_tree, tmp_path, reference_dir):
    """Real DivX/XviD packed B-frames and a phone's rotated video in the tree: the rows hold the frame count, the
    displayed size and the rotation FFmpeg shows, and the transform reads the frames FFmpeg shows from them."""
    import numpy as np

    from hf_video.clips.video_io import read_frame_list

    corpus = reference_dir / "video_corpus"
    climb = sorted((small_tree / "videos" / "climb").iterdir())
    for victim, source in zip(climb[:2], ("xvid_packed_bframes.avi", "rotated_90.mp4")):
        victim.unlink()
        shutil.copyfile(corpus / source, victim)  # an .avi name does not matter: the content is probed
    dataset = prepare(small_tree, tmp_path / "cache", class_names=TWO_CLASSES).as_dataset()
    rows = {row["video_id"]: row for split in dataset.values() for row in split.with_format(None)}
    xvid, rotated = rows[f"climb/{climb[0].name}"], rows[f"climb/{climb[1].name}"]
    assert (xvid["num_frames"], xvid["width"], xvid["height"], xvid["rotation"]) == (119, 240, 180, 0)
    assert (rotated["num_frames"], rotated["width"], rotated["height"], rotated["rotation"]) == (60, 180, 240, 90)
    for row, source in ((xvid, "xvid_packed_bframes.avi"), (rotated, "rotated_90.mp4")):
        with np.load(corpus / f"{source}.ffmpeg_frames.npz") as reference:
            indices, frames = [int(index) for index in reference["indices"]], reference["frames"]
        got = read_frame_list(row["video"], indices, num_frames=row["num_frames"], packets=row["packets"])
        assert all(np.array_equal(a, b) for a, b in zip(got, frames)), source


@pytest.mark.parametrize("name", ["../climb_stairs/{}", "/abs/{}", "sub/{}", ".."])
def test_a_split_line_that_leaves_its_class_folder_is_refused(small_tree, tmp_path, name):
    """One video listed under two labels: a climb split line naming a climb_stairs video."""
    other = sorted((small_tree / "videos" / "climb_stairs").iterdir())[0].name
    split_file = small_tree / "annotations" / "climb_test_split1.txt"
    line_number = len(split_file.read_text().splitlines()) + 1
    split_file.write_text(split_file.read_text() + f"{name.format(other)} 1\n")
    with pytest.raises(Hmdb51DataError, match=re.escape(f"{split_file}:{line_number}: ") + ".*is not a file name "
                       "inside .*climb"):
        prepare(small_tree, tmp_path / "cache", class_names=TWO_CLASSES)


def test_a_split_with_no_videos_is_named(small_tree, tmp_path):
    for class_name in TWO_CLASSES:
        split_file = small_tree / "annotations" / f"{class_name}_test_split1.txt"
        split_file.write_text(re.sub(r" 2\b", " 0", split_file.read_text()))
    with pytest.raises(Hmdb51DataError, match="the test split has no videos: its split lists name none"):
        prepare(small_tree, tmp_path / "cache", class_names=TWO_CLASSES)


def test_a_file_name_that_is_not_utf8_does_not_break_the_prepare(small_tree, tmp_path, caplog):
    stray = os.path.join(os.fsencode(small_tree / "videos" / "climb"), b"clip_\xff\xfe.avi")
    with open(stray, "wb") as file:
        file.write(b"not listed")
    with caplog.at_level(logging.WARNING):
        dataset = prepare(small_tree, tmp_path / "cache", class_names=TWO_CLASSES).as_dataset()
    assert dataset["train"].num_rows == 2 and r"left out: clip_\xff\xfe.avi" in caplog.text
