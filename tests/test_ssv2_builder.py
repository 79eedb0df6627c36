"""The Something-Something V2 builder on generated trees in the official layouts: VP9 WebM videos, labels.json's
classes, bracketed templates, the archive parts (plain or each in its zip) and the labels zip, older file names, every
problem named at once; and the flip that swaps the left/right classes' labels."""

import io
import json
import logging
import random
import shutil
import tarfile
import time
import zipfile
from pathlib import Path

import numpy as np
import pytest

from hf_video.clips.clip_settings import ClipSettings
from hf_video.clips.clip_transform import VideoClipTransform
from hf_video.clips.device_augmentation import DeviceAugmentation, collate_crops
from hf_video.clips.video_io import read_frame_list
from hf_video.clips.views import eval_frame_indices
from hf_video.data.dataset_kinds import SSV2
from hf_video.data.mirrored_classes import mirrored_labels
from hf_video.data.ssv2 import Ssv2DataError, load_ssv2
from hf_video.data.ssv2_labels import SSV2_CLASSES
from helpers.dataset_trees import SSV2_ENTRIES, write_ssv2_labels, write_ssv2_videos
from helpers.video_files import frame_number

ENTRIES = SSV2_ENTRIES
OFFICIAL_INDEX = {"Pushing something from left to right": 93, "Pushing something from right to left": 94,
                  "Putting something on a surface": 109,
                  "Turning the camera left while filming something": 166}
write_labels = write_ssv2_labels


@pytest.fixture(scope="module")
def videos(tmp_path_factory) -> Path:
    return write_ssv2_videos(tmp_path_factory.mktemp("ssv2_videos") / "20bn-something-something-v2")


@pytest.fixture(scope="module")
def ssv2_tree(videos, tmp_path_factory) -> Path:
    root = tmp_path_factory.mktemp("ssv2")
    shutil.copytree(videos, root / videos.name)
    write_labels(root / "labels")
    return root


def test_the_official_layout_gives_labels_json_classes_from_bracketed_templates(ssv2_tree, tmp_path, caplog):
    assert [SSV2_CLASSES[index] for index in OFFICIAL_INDEX.values()] == list(OFFICIAL_INDEX)
    with caplog.at_level(logging.INFO):
        dataset = load_ssv2(str(ssv2_tree), cache_dir=str(tmp_path / "cache"))
    assert set(dataset) == {"train", "validation"}
    for split in ("train", "validation"):
        expected = {(video_id, OFFICIAL_INDEX[template.replace("[", "").replace("]", "")], num_frames)
                    for video_id, template, entry_split, num_frames in ENTRIES if entry_split == split}
        rows = dataset[split]
        assert {(row["video_id"], row["label"], row["num_frames"]) for row in rows} == expected
        assert all(row["video"] == str(ssv2_tree / "20bn-something-something-v2" / f"{row['video_id']}.webm")
                   and row["fps"] == 12 and (row["width"], row["height"]) == (64, 48) for row in rows)
    assert dataset["train"].features["label"].names == list(SSV2_CLASSES)
    assert "2 unlabelled test videos: they are not prepared" in caplog.text


def test_frames_of_a_vp9_webm_row_are_the_ones_written(ssv2_tree, tmp_path):
    dataset = load_ssv2(str(ssv2_tree), cache_dir=str(tmp_path / "cache"))
    row = dataset["train"][0]
    settings = ClipSettings(num_frames=8, sample_mode="segment", image_size=32, temporal_crops=2, spatial_crops=3)
    indices = eval_frame_indices(settings, row["num_frames"], row["fps"])
    frames = read_frame_list(row["video"], indices, num_frames=row["num_frames"], packets=row["packets"])
    assert [frame_number(frame) for frame in frames] == indices
    views = VideoClipTransform(settings, train=False)(dataset["train"][:1])["pixel_values"][0]
    assert views.shape == (6, 8, 3, 32, 32)


def archive_parts(videos: Path, folder: Path, count: int, zipped: bool) -> None:
    """The videos as the official download: one tar.gz of 20bn-something-something-v2/ cut into `count` numbered
    parts, each inside its own zip when `zipped`."""
    buffer = io.BytesIO()
    with tarfile.open(fileobj=buffer, mode="w:gz") as archive:
        archive.add(videos, arcname=videos.name)
    data = buffer.getvalue()
    size = -(-len(data) // count)
    for index in range(count):
        name = f"20bn-something-something-v2-{index:02d}"
        piece = data[index * size:(index + 1) * size]
        if zipped:
            with zipfile.ZipFile(folder / f"{name}.zip", "w") as part_zip:
                part_zip.writestr(name, piece)
        else:
            (folder / name).write_bytes(piece)


@pytest.mark.parametrize("zipped", [True, False], ids=["parts in zips", "plain parts"])
def test_the_downloaded_parts_and_labels_zip_give_the_same_rows(videos, ssv2_tree, tmp_path, zipped):
    downloaded = tmp_path / "download"
    downloaded.mkdir()
    archive_parts(videos, downloaded, 3, zipped)
    write_labels(tmp_path / "labels_source" / "labels")
    with zipfile.ZipFile(downloaded / "20bn-something-something-download-package-labels.zip", "w") as labels_zip:
        for path in sorted((tmp_path / "labels_source" / "labels").iterdir()):
            labels_zip.write(path, f"labels/{path.name}")
    from_parts = load_ssv2(str(downloaded), cache_dir=str(tmp_path / "cache"))
    extracted = load_ssv2(str(ssv2_tree), cache_dir=str(tmp_path / "cache_extracted"))
    for split in ("train", "validation"):
        columns = ("video_id", "label", "num_frames", "file_size")
        assert [[row[column] for column in columns] for row in from_parts[split]] == \
            [[row[column] for column in columns] for row in extracted[split]]
        assert all(str(tmp_path / "cache") in row["video"] for row in from_parts[split])
    extracted_folders = list((tmp_path / "cache" / "downloads" / "extracted").iterdir())
    assert [folder.name.startswith("ssv2-videos-") and ".incomplete" not in folder.name
            for folder in extracted_folders] == [True]
    # A changed download is prepared anew: the cache key fingerprints the zips and parts beside the folders.
    (tmp_path / "labels_source" / "labels" / "validation.json").write_text("[]")
    with zipfile.ZipFile(downloaded / "20bn-something-something-download-package-labels.zip", "w") as labels_zip:
        for path in sorted((tmp_path / "labels_source" / "labels").iterdir()):
            labels_zip.write(path, f"labels/{path.name}")
    with pytest.raises(Ssv2DataError, match="the validation split has no videos"):
        load_ssv2(str(downloaded), cache_dir=str(tmp_path / "cache"))


def test_a_missing_or_damaged_part_is_named(videos, tmp_path):
    downloaded = tmp_path / "download"
    downloaded.mkdir()
    archive_parts(videos, downloaded, 3, zipped=False)
    write_labels(downloaded / "labels")
    (downloaded / "20bn-something-something-v2-01").unlink()
    with pytest.raises(Ssv2DataError, match=r"20bn-something-something-v2-01 are missing") as caught:
        load_ssv2(str(downloaded), cache_dir=str(tmp_path / "cache"))
    assert len(caught.value.problems) == 1
    archive_parts(videos, downloaded, 3, zipped=False)
    last = downloaded / "20bn-something-something-v2-02"
    last.write_bytes(last.read_bytes()[: len(last.read_bytes()) // 2])
    with pytest.raises(Ssv2DataError, match=r"do not extract as one tar.gz.*re-download"):
        load_ssv2(str(downloaded), cache_dir=str(tmp_path / "cache"))
    assert list((tmp_path / "cache" / "downloads" / "extracted").iterdir()) == []
    last.unlink()
    with zipfile.ZipFile(downloaded / "20bn-something-something-v2-02.zip", "w") as part_zip:
        part_zip.writestr("20bn-something-something-v2-02", b"")
        part_zip.writestr("readme.txt", b"")
    with pytest.raises(Ssv2DataError, match=r"(?s)-02.zip: 1 problem.*expected the one archive part inside, found 2"):
        load_ssv2(str(downloaded), cache_dir=str(tmp_path / "cache"))


def test_the_older_label_file_names_work(videos, tmp_path):
    shutil.copytree(videos, tmp_path / "tree" / videos.name)
    write_labels(tmp_path / "tree", prefix="something-something-v2-")
    dataset = load_ssv2(str(tmp_path / "tree"), cache_dir=str(tmp_path / "cache"))
    assert dataset["train"].num_rows == 4 and dataset["validation"].num_rows == 2


def test_every_problem_with_the_lists_is_named_at_once(videos, tmp_path):
    tree = tmp_path / "tree"
    shutil.copytree(videos, tree / videos.name)
    write_labels(tree / "labels")
    train = json.loads((tree / "labels" / "train.json").read_text())
    train += [{"id": "105", "label": "x", "template": "Juggling [something]", "placeholders": []},
              {"id": "106", "label": "no template"},
              {"id": "101", "template": "Putting [something] on a surface"},
              {"id": "107", "template": "Putting [something] on a surface"}]
    (tree / "labels" / "train.json").write_text(json.dumps(train))
    (tree / "labels" / "validation.json").write_text('[{"id": "201",\n "template": "Putting [something] on a')
    with pytest.raises(Ssv2DataError) as caught:
        load_ssv2(str(tree), cache_dir=str(tmp_path / "cache"))
    problems = "\n".join(caught.value.problems)
    assert "train.json: entry 4 (id 105): its template 'Juggling [something]' is not in labels.json" in problems
    assert "train.json: entry 5: " in problems and "lacks an \"id\" and a \"template\"" in problems
    assert "train.json: entry 6: video 101 is listed twice" in problems
    assert "entry 7 names video 107, but " in problems and "107.webm does not exist" in problems
    assert "validation.json:2:" in problems and "not valid JSON" in problems
    assert len(caught.value.problems) == 5


def test_labels_json_must_agree_with_class_names(videos, tmp_path):
    tree = tmp_path / "tree"
    shutil.copytree(videos, tree / videos.name)
    swapped = {name: str(index) for index, name in enumerate(SSV2_CLASSES)}
    swapped["Approaching something with your camera"], swapped["Attaching something to something"] = "1", "0"
    write_labels(tree / "labels", labels=swapped)
    with pytest.raises(Ssv2DataError, match="numbers its classes in another order than class_names"):
        load_ssv2(str(tree), cache_dir=str(tmp_path / "cache"))
    with pytest.raises(Ssv2DataError, match=r"class_names holds 1 template\(s\) that .* does not: Juggling"):
        load_ssv2(str(tree), cache_dir=str(tmp_path / "cache"), class_names=("Juggling something",))


def test_a_subset_of_classes_keeps_its_rows_and_counts_the_others(ssv2_tree, tmp_path, caplog):
    subset = ("Putting something on a surface", "Pushing something from left to right")
    with caplog.at_level(logging.WARNING):
        dataset = load_ssv2(str(ssv2_tree), cache_dir=str(tmp_path / "cache"), class_names=subset)
    assert sorted((row["video_id"], row["label"]) for row in dataset["train"]) == [("101", 1), ("103", 0)]
    assert "2 listed video(s) of 2 class(es) outside class_names are left out" in caplog.text


def test_without_data_dir_it_says_where_to_get_the_videos(tmp_path):
    with pytest.raises(Ssv2DataError, match=r"the site asks you to sign in\): download the parts and the labels"):
        load_ssv2(None, cache_dir=str(tmp_path / "cache"))


def test_only_split_1_exists(ssv2_tree, tmp_path):
    with pytest.raises(Ssv2DataError, match=r"split=2: Something-Something V2 has one official split scheme"):
        load_ssv2(str(ssv2_tree), split=2, cache_dir=str(tmp_path / "cache"))


# The mirror pairs.

def test_the_official_templates_give_the_authors_three_pairs():
    assert SSV2_CLASSES[86] == "Pulling something from left to right"
    assert SSV2_CLASSES[87] == "Pulling something from right to left"
    assert SSV2_CLASSES[93] == "Pushing something from left to right"
    assert SSV2_CLASSES[94] == "Pushing something from right to left"
    assert SSV2_CLASSES[166] == "Turning the camera left while filming something"
    assert SSV2_CLASSES[167] == "Turning the camera right while filming something"
    pairs = {86: 87, 87: 86, 93: 94, 94: 93, 166: 167, 167: 166}
    assert mirrored_labels(SSV2_CLASSES) == pairs
    assert SSV2.training_flip() == (0.5, pairs)
    # "...pulling it right out..." names no direction a mirror changes: no pair, flipped like any other class.
    assert 50 not in mirrored_labels(SSV2_CLASSES)


def test_pairs_follow_the_class_names_of_a_subset_or_another_label_file(caplog):
    subset = SSV2.with_class_names(("Putting something on a surface", "Pushing something from right to left",
                                    "Pushing something from left to right"))
    assert subset.training_flip() == (0.5, {1: 2, 2: 1})
    own = SSV2.with_class_names(("Swiping Right", "Waving", "Swiping Left"))
    assert own.training_flip(0.3) == (0.3, {0: 2, 2: 0})
    half = SSV2.with_class_names(("Putting something on a surface", "Pushing something from left to right"))
    with caplog.at_level(logging.WARNING):
        assert half.training_flip() == (0.0, None)
    assert "not flipped: the mirror classes of ['Pushing something from left to right'] are not among" in caplog.text
    with pytest.raises(ValueError, match="its label would be wrong"):
        half.training_flip(0.5)
    none = SSV2.with_class_names(("Putting something on a surface", "Opening something"))
    assert none.training_flip() == (0.0, None)
    assert half.training_flip(0.0) == (0.0, None)


@pytest.mark.parametrize("augment_on_device", [False, True], ids=["in the loader", "on the device"])
def test_a_flipped_clip_gets_the_mirror_class_label(ssv2_tree, tmp_path, augment_on_device):
    dataset = load_ssv2(str(ssv2_tree), cache_dir=str(tmp_path / "cache"))["train"]
    rows = dataset[:]  # labels 93 (left to right), 94 (right to left), 109 (a surface), 166 (camera left)
    assert rows["label"] == [93, 94, 109, 166]
    _, pairs = SSV2.training_flip()
    clips = {}
    for flip_probability in (0.0, 1.0):
        settings = ClipSettings(num_frames=4, sample_mode="segment", image_size=32,
                                flip_probability=flip_probability, crop_scale=(1.0, 1.0), crop_ratio=(4 / 3, 4 / 3))
        transform = VideoClipTransform(settings, train=True, augment_on_device=augment_on_device,
                                       mirrored_labels=pairs)
        random.seed(0)
        output = transform(dict(rows))
        if augment_on_device:
            batch = DeviceAugmentation(settings)(collate_crops([
                {"crops": crops, "flip": flip, "labels": label}
                for crops, flip, label in zip(output["crops"], output["flip"], output["labels"])]))
            output = {"pixel_values": list(batch["pixel_values"]), "labels": batch["labels"].tolist()}
        clips[flip_probability] = output
    assert clips[0.0]["labels"] == [93, 94, 109, 166]
    assert clips[1.0]["labels"] == [94, 93, 109, 167]
    for plain, mirrored in zip(clips[0.0]["pixel_values"], clips[1.0]["pixel_values"]):
        np.testing.assert_allclose(mirrored.numpy(), plain.flip(-1).numpy(), atol=1e-5)


def test_ids_that_are_paths_are_refused_like_every_builders_list_names(videos, tmp_path):
    """An id with `../` or an absolute path would make a row of a file outside the videos folder (the rule HMDB51,
    UCF101 and Kinetics apply too: `video_builder.not_a_file_name`)."""
    tree = tmp_path / "tree"
    shutil.copytree(videos, tree / videos.name)
    (tmp_path / "outside.webm").write_bytes((tree / videos.name / "101.webm").read_bytes())
    write_labels(tree / "labels")
    train = json.loads((tree / "labels" / "train.json").read_text())
    train += [{"id": "../../outside", "template": "Putting [something] on a surface"},
              {"id": str(tmp_path / "outside"), "template": "Putting [something] on a surface"}]
    (tree / "labels" / "train.json").write_text(json.dumps(train))
    with pytest.raises(Ssv2DataError) as caught:
        load_ssv2(str(tree), cache_dir=str(tmp_path / "cache"))
    problems = caught.value.problems
    assert len(problems) == 2 and all("is not a file name inside" in problem for problem in problems), problems
    assert "'../../outside'" in problems[0] and repr(str(tmp_path / "outside")) in problems[1]


def test_an_extraction_killed_outright_leaves_nothing_the_next_load_keeps(videos, tmp_path):
    """A process killed with SIGKILL mid-extraction leaves its half-written folder; the next load removes it (and
    the `.incomplete-<pid>` folders of earlier versions), then extracts whole."""
    import os
    import signal
    import subprocess
    import sys

    downloaded = tmp_path / "download"
    downloaded.mkdir()
    archive_parts(videos, downloaded, 2, zipped=False)
    write_labels(downloaded / "labels")
    cache = tmp_path / "cache"
    # A real process, killed outright while it extracts (its reads of the parts are slowed so the kill lands there).
    script = ("import sys, time, hf_video.data.ssv2 as ssv2\n"
              "read = ssv2._ConcatenatedParts.readinto\n"
              "def slow(self, buffer):\n"
              "    time.sleep(1)\n"
              "    return read(self, buffer)\n"
              "ssv2._ConcatenatedParts.readinto = slow\n"
              f"ssv2.load_ssv2({str(downloaded)!r}, cache_dir={str(cache)!r})\n")
    process = subprocess.Popen([sys.executable, "-c", script])
    extracted = cache / "downloads" / "extracted"
    for _ in range(600):
        if any(extracted.glob(".ssv2-videos-*.staging-*")):
            break
        time.sleep(0.05)
    process.send_signal(signal.SIGKILL)
    process.wait()
    left = [path.name for path in extracted.iterdir()]
    assert len(left) == 1 and ".staging-" in left[0], left
    dead = subprocess.run([sys.executable, "-c", "import os; print(os.getpid())"], capture_output=True,
                          text=True).stdout.strip()
    legacy = extracted / (left[0].split(".staging-")[0].lstrip(".") + f".incomplete-{dead}")
    legacy.mkdir()
    dataset = load_ssv2(str(downloaded), cache_dir=str(cache))
    assert dataset["train"].num_rows > 0
    assert [path.name.startswith("ssv2-videos-") and "." not in path.name for path in extracted.iterdir()] == [True]
    assert os.path.isdir(dataset["train"][0]["video"].rsplit("/", 1)[0])
