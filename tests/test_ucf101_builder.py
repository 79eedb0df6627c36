"""The UCF101 builder on a generated tree in the official layout: three splits, labels from classInd.txt, the class
from the folder, the split lists as a folder or as the official zip, every problem named at once, the options it
shares with HMDB51, and the transform on its rows."""

import json
import os
import re
import shutil
import subprocess
import sys
import zipfile
from pathlib import Path

import pytest
import torch

from hf_video.clips.clip_settings import ClipSettings
from hf_video.clips.clip_transform import VideoClipTransform
from hf_video.data.ucf101 import Ucf101, Ucf101DataError, load_ucf101
from hf_video.data.ucf101_labels import UCF101_CLASSES
from helpers.video_files import copied_tree, write_numbered_video

# Three real classes; HandstandPushups's files are spelt HandStandPushups, as in the real dataset.
CLASSES = ("ApplyEyeMakeup", "HandstandPushups", "YoYo")
FILE_STEMS = {"ApplyEyeMakeup": "ApplyEyeMakeup", "HandstandPushups": "HandStandPushups", "YoYo": "YoYo"}
GROUPS = (1, 2, 3)  # one clip per group; split k tests on group k, trains on the others


def video_name(class_name: str, group: int) -> str:
    return f"v_{FILE_STEMS[class_name]}_g{group:02d}_c01.avi"


@pytest.fixture(scope="module")
def ucf101_tree(tmp_path_factory) -> Path:
    root = tmp_path_factory.mktemp("ucf101")
    videos, lists = root / "UCF-101", root / "ucfTrainTestlist"
    lists.mkdir()
    for label, class_name in enumerate(CLASSES):
        (videos / class_name).mkdir(parents=True)
        for group in GROUPS:
            write_numbered_video(videos / class_name / video_name(class_name, group), 12 + 4 * group + label, fps=25)
    # The official files end their lines with CRLF.
    (lists / "classInd.txt").write_bytes(b"".join(f"{index} {name}\r\n".encode()
                                                  for index, name in enumerate(CLASSES, 1)))
    for split in (1, 2, 3):
        train = [f"{name}/{video_name(name, group)} {label + 1}" for label, name in enumerate(CLASSES)
                 for group in GROUPS if group != split]
        test = [f"{name}/{video_name(name, split)}" for name in CLASSES]
        (lists / f"trainlist0{split}.txt").write_bytes("\r\n".join(train).encode() + b"\r\n")
        (lists / f"testlist0{split}.txt").write_bytes("\r\n".join(test).encode() + b"\r\n")
    return root


def prepare(data_dir, cache_dir, split=1, **kwargs):
    builder = Ucf101(config_name=f"split{split}", data_dir=str(data_dir), cache_dir=str(cache_dir),
                     class_names=CLASSES, **kwargs)
    builder.download_and_prepare()
    return builder.as_dataset()


def test_the_class_list_is_ucf101s():
    assert len(UCF101_CLASSES) == len(set(UCF101_CLASSES)) == 101
    assert UCF101_CLASSES[:3] == ("ApplyEyeMakeup", "ApplyLipstick", "Archery") and UCF101_CLASSES[-1] == "YoYo"


@pytest.mark.parametrize("split", [1, 2, 3])
def test_splits_labels_ids_and_metadata(ucf101_tree, tmp_path, split):
    dataset = prepare(ucf101_tree, tmp_path / "cache", split=split)
    assert dataset["train"].num_rows == 6 and dataset["test"].num_rows == 3
    assert dataset["train"].features["label"].names == list(CLASSES)
    test_rows = {row["video_id"]: row for row in dataset["test"]}
    assert set(test_rows) == {f"{name}/{video_name(name, split)}" for name in CLASSES}
    for row in list(dataset["train"]) + list(test_rows.values()):
        class_name = row["video_id"].split("/")[0]
        assert row["label"] == CLASSES.index(class_name)  # the test lists carry no label: it is the folder's
        assert Path(row["video"]) == ucf101_tree / "UCF-101" / row["video_id"]
        assert (row["fps"], row["width"], row["height"]) == (25.0, 320, 240)
        assert len(row["packets"]["pts"]) == row["num_frames"]
    group = int(row["video_id"].split("_g")[1][:2])
    assert row["num_frames"] == 12 + 4 * group + CLASSES.index(class_name)


def test_the_split_lists_from_the_official_zip_give_the_same_rows(ucf101_tree, tmp_path):
    data_dir = tmp_path / "data"
    data_dir.mkdir()
    (data_dir / "UCF-101").symlink_to(ucf101_tree / "UCF-101")
    with zipfile.ZipFile(data_dir / "UCF101TrainTestSplits-RecognitionTask.zip", "w") as archive:
        for path in sorted((ucf101_tree / "ucfTrainTestlist").iterdir()):
            archive.write(path, f"ucfTrainTestlist/{path.name}")
    from_zip = prepare(data_dir, tmp_path / "cache")
    from_folder = prepare(ucf101_tree, tmp_path / "cache")
    for split in ("train", "test"):
        assert sorted(from_zip[split]["video_id"]) == sorted(from_folder[split]["video_id"])
        assert sorted(from_zip[split]["label"]) == sorted(from_folder[split]["label"])


def test_every_problem_is_named_at_once_and_nothing_is_written(ucf101_tree, tmp_path):
    tree = copied_tree(ucf101_tree, tmp_path / "tree")
    lists = tree / "ucfTrainTestlist"
    train = (lists / "trainlist01.txt").read_text().splitlines()
    train[0] = train[0].rsplit(" ", 1)[0] + " 3"  # ApplyEyeMakeup labelled as YoYo
    train[1] = "ApplyEyeMakeup/v_ApplyEyeMakeup_g09_c01.avi 1"  # no such video
    train.append("Surfing/v_Surfing_g01_c01.avi 4")  # no such class
    train.append("just-a-name")
    (lists / "trainlist01.txt").unlink()  # replaced, as a real user would
    (lists / "trainlist01.txt").write_text("\n".join(train) + "\n")
    (lists / "testlist01.txt").unlink()
    with pytest.raises(Ucf101DataError) as raised:
        prepare(tree, tmp_path / "cache")
    text = str(raised.value)
    assert "UCF101 at" in text and "nothing was prepared" in text and len(raised.value.problems) == 5
    for expected in ("trainlist01.txt:1: label 3 is not that of the video's class folder ApplyEyeMakeup (1 in "
                     "classInd.txt)", "v_ApplyEyeMakeup_g09_c01.avi does not exist",
                     "unknown class 'Surfing' (not in classInd.txt)", "'just-a-name' does not parse",
                     "missing split list"):
        assert expected in text, expected
    assert not list((tmp_path / "cache").rglob("*.arrow"))


def test_class_index_must_match_the_configured_names(ucf101_tree, tmp_path):
    with pytest.raises(Ucf101DataError, match=r"classInd.txt lists 3 classes, which are not the 101 configured "
                                              r"class_names \(2: 'HandstandPushups' instead of 'ApplyLipstick'"):
        Ucf101(config_name="split1", data_dir=str(ucf101_tree), cache_dir=str(tmp_path)).download_and_prepare()
    with pytest.raises(Ucf101DataError, match=r"neither the folder .*UCF-101/ nor the archive .*UCF101.rar is there"):
        prepare(tmp_path, tmp_path / "cache")
    with pytest.raises(ValueError, match="split_number=4: UCF101 has splits 1, 2 and 3"):
        Ucf101(config_name="split1", data_dir=str(ucf101_tree), split_number=4)


def test_skip_unreadable_and_the_transform_on_its_rows(ucf101_tree, tmp_path):
    tree = copied_tree(ucf101_tree, tmp_path / "tree")
    broken = tree / "UCF-101" / "YoYo" / video_name("YoYo", 2)
    broken.unlink()
    broken.write_bytes(b"not a video")
    with pytest.raises(Ucf101DataError, match="unreadable video"):
        prepare(tree, tmp_path / "cache")
    dataset = load_ucf101(str(tree), cache_dir=str(tmp_path / "cache"), class_names=CLASSES, skip_unreadable=True)
    assert dataset["train"].num_rows == 5 and dataset["test"].num_rows == 3
    dataset["train"].set_transform(VideoClipTransform(ClipSettings(num_frames=4, sample_interval=2, image_size=32)))
    row = dataset["train"][0]
    assert row["pixel_values"].shape == (4, 3, 32, 32) and row["pixel_values"].dtype == torch.float32
    shutil.rmtree(tmp_path / "cache")


@pytest.mark.slow  # a separate process
def test_the_fine_tuning_script_trains_on_ucf101(ucf101_tree, tmp_path):
    """--dataset ucf101: the script prepares UCF101 with its 101 classes (classInd.txt's) and trains."""
    tree = copied_tree(ucf101_tree, tmp_path / "tree")
    lists = tree / "ucfTrainTestlist"
    for name in ("classInd.txt", "trainlist01.txt"):
        (lists / name).unlink()  # replaced, as a real user would
    (lists / "classInd.txt").write_text("".join(f"{index} {name}\n" for index, name in enumerate(UCF101_CLASSES, 1)))
    (lists / "trainlist01.txt").write_text("".join(
        f"{name}/{video_name(name, group)} {UCF101_CLASSES.index(name) + 1}\n" for name in CLASSES
        for group in GROUPS if group != 1))
    output_dir = tmp_path / "run"
    result = subprocess.run(
        [sys.executable, str(Path(__file__).resolve().parents[1] / "examples" / "run_video_classification.py"),
         "--dataset", "ucf101", "--data_dir", str(tree), "--output_dir", str(output_dir),
         "--dataset_cache_dir", str(tmp_path / "cache"), "--depth", "18", "--stem_width", "8",
         "--hidden_sizes", "8,16,32,64", "--num_frames", "4", "--sample_interval", "2", "--image_size", "32",
         "--per_device_train_batch_size", "3", "--max_steps", "2", "--do_predict", "False", "--use_cpu",
         "--dataloader_num_workers", "0", "--report_to", "none", "--disable_tqdm", "True"],
        capture_output=True, text=True, timeout=600, env={**os.environ, "OMP_NUM_THREADS": "1"})
    assert result.returncode == 0, result.stderr[-3000:]
    assert "on UCF101 (" in result.stdout and "6 training clips, 3 test videos" in result.stdout
    config = json.loads((output_dir / "config.json").read_text())
    assert len(config["id2label"]) == 101 and config["id2label"]["36"] == "HandstandPushups"


def test_an_empty_train_list_and_a_damaged_split_zip_are_named(ucf101_tree, tmp_path):
    data_dir = tmp_path / "data"
    data_dir.mkdir()
    (data_dir / "UCF-101").symlink_to(ucf101_tree / "UCF-101")
    shutil.copytree(ucf101_tree / "ucfTrainTestlist", data_dir / "ucfTrainTestlist")
    (data_dir / "ucfTrainTestlist" / "trainlist01.txt").write_bytes(b"")
    with pytest.raises(Ucf101DataError, match="the train split has no videos: its split lists name none"):
        prepare(data_dir, tmp_path / "cache")
    shutil.rmtree(data_dir / "ucfTrainTestlist")
    archive = data_dir / "UCF101TrainTestSplits-RecognitionTask.zip"
    with zipfile.ZipFile(archive, "w") as split_zip:
        for path in sorted((ucf101_tree / "ucfTrainTestlist").iterdir()):
            split_zip.write(path, f"ucfTrainTestlist/{path.name}")
    archive.write_bytes(archive.read_bytes()[:-60])  # cut short, as an interrupted download leaves it
    with pytest.raises(Ucf101DataError, match="(?s)" + re.escape(str(archive)) + ".*cannot extract.*re-download"):
        prepare(data_dir, tmp_path / "cache")
