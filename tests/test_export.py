"""The Hub-ready export: parquet shards with the videos inside and a card; load_export on the folder gives the same
rows, and the transform the same clips, decoded from memory; the CLI; nothing half-written."""

import os
import random
import re
import shutil
import signal
import time
import subprocess
import sys
from pathlib import Path

import datasets
import pytest
import torch

from hf_video.clips.clip_settings import ClipSettings
from hf_video.clips.clip_transform import VideoClipTransform
from hf_video.data.export import ExportError, export_dataset, load_export
from hf_video.data.hmdb51 import CITATION, HOMEPAGE, Hmdb51
from hf_video.clips.video_io import VideoDecodeError

SETTINGS = ClipSettings(num_frames=4, sample_interval=2, image_size=48)


@pytest.fixture(scope="module")
def prepared_cache(hmdb51_tree, tmp_path_factory):
    cache = tmp_path_factory.mktemp("c")
    Hmdb51(config_name="split1", data_dir=str(hmdb51_tree), cache_dir=str(cache)).download_and_prepare()
    return cache


@pytest.fixture(scope="module")
def prepared(hmdb51_tree, prepared_cache):
    return Hmdb51(config_name="split1", data_dir=str(hmdb51_tree), cache_dir=str(prepared_cache)).as_dataset()


@pytest.fixture(scope="module")
def small_export(prepared, tmp_path_factory):
    """Two splits of six videos, three shards each (read-only: copy it to break it)."""
    splits = {name: prepared[name].select(range(6)) for name in ("train", "test")}
    size = sum(prepared["train"].select(range(6))["file_size"])
    return export_dataset(splits, tmp_path_factory.mktemp("small") / "export", "HMDB51", max_shard_bytes=size // 3)


def broken_copy(export: Path, tmp_path: Path) -> Path:
    copy = tmp_path / "copy"
    shutil.copytree(export, copy)
    return copy


def test_the_export_loads_back_with_the_same_rows_and_clips(prepared, tmp_path):
    folder = export_dataset(prepared, tmp_path / "export", "HMDB51 (split 1)", HOMEPAGE, CITATION,
                            max_shard_bytes=2**20)
    shards = sorted(path.name for path in (folder / "data").iterdir())
    assert len(shards) > 2 and all(name.endswith(".parquet") for name in shards)
    assert {name.split("-")[0] for name in shards} == {"train", "test"}
    card = (folder / "README.md").read_text()
    assert "path: data/train-*.parquet" in card and "| test | 51 |" in card and "@inproceedings{kuehne2011hmdb" in card

    loaded = load_export(folder)
    assert sorted(loaded) == ["test", "train"]
    for split in ("train", "test"):
        original, copy = prepared[split].with_format(None), loaded[split]
        assert copy.features["label"].names == original.features["label"].names
        assert isinstance(copy.features["video"], datasets.Video) and not copy.features["video"].decode
        assert "file_size" not in copy.column_names
        by_id = {row["video_id"]: row for row in original}
        for row in copy:
            source = by_id[row["video_id"]]
            assert row["video"]["path"] == row["video_id"]
            assert row["video"]["bytes"] == Path(source["video"]).read_bytes()
            assert all(row[column] == source[column] for column in ("label", "num_frames", "fps", "packets"))

    # The same clips, decoded from the embedded bytes: evaluation views, and random training clips under a seed.
    original, copy = prepared["train"].with_format(None), loaded["train"]
    order = {video_id: index for index, video_id in enumerate(original["video_id"])}
    rows = [order[video_id] for video_id in copy["video_id"][:6]]
    for train in (False, True):
        transform = VideoClipTransform(SETTINGS, train=train)
        random.seed(0)
        from_files = transform(original.select(rows)[:])["pixel_values"]
        random.seed(0)
        from_bytes = transform(copy.select(range(6))[:])["pixel_values"]
        assert all(torch.equal(a, b) for a, b in zip(from_files, from_bytes))


def test_decord_decodes_the_embedded_bytes_too(prepared, tmp_path):
    folder = export_dataset({"test": prepared["test"].select(range(3))}, tmp_path / "export", "HMDB51")
    copy = load_export(folder)["test"]
    # Another export in a folder of the same name as the first test's: its own rows (load_dataset(folder) would give
    # the first export's, from a cache keyed on the folder's name).
    assert copy.num_rows == 3
    original = prepared["test"].with_format(None).select(range(3))[:]
    for backend in ("pyav", "decord"):
        transform = VideoClipTransform(SETTINGS, train=False, video_backend=backend)
        from_bytes, from_files = transform(copy[:])["pixel_values"], transform(original)["pixel_values"]
        assert all(torch.equal(a, b) for a, b in zip(from_bytes, from_files))


def test_a_changed_video_or_a_used_folder_stops_the_export_and_nothing_is_left(hmdb51_tree, prepared, tmp_path):
    (tmp_path / "used").mkdir()
    (tmp_path / "used" / "notes.txt").write_text("mine")
    with pytest.raises(FileExistsError, match="exists and is not an empty folder"):
        export_dataset(prepared, tmp_path / "used", "HMDB51")
    rows = prepared["test"].with_format(None)
    changed = rows.map(lambda row: {"file_size": row["file_size"] + 1}).select(range(2))
    with pytest.raises(VideoDecodeError, match="differs from when the dataset was prepared"):
        export_dataset({"test": changed}, tmp_path / "export", "HMDB51")
    assert sorted(path.name for path in tmp_path.iterdir()) == ["used"]  # no partial folder, no staging left


@pytest.mark.slow  # a separate process
def test_the_command_line_exports_a_prepared_split(hmdb51_tree, tmp_path):
    result = subprocess.run(
        [sys.executable, "-m", "hf_video.data.export", "--dataset", "hmdb51", "--data_dir", str(hmdb51_tree),
         "--output_dir", str(tmp_path / "export"), "--cache_dir", str(tmp_path / "cache")],
        capture_output=True, text=True, timeout=600)
    assert result.returncode == 0, result.stderr[-3000:]
    assert "load_export(" in result.stdout and "--repo-type dataset" in result.stdout
    assert load_export(tmp_path / "export")["train"].num_rows == 51


def test_a_missing_shard_is_named_when_loading_and_streaming(small_export, tmp_path):
    copy = broken_copy(small_export, tmp_path)
    shards = sorted((copy / "data").glob("train-*.parquet"))
    assert len(shards) == 3
    shards[1].unlink()
    for streaming in (False, True):
        with pytest.raises(ExportError, match=r"the train split is not whole \(missing train-00001-of-00003.parquet"):
            load_export(copy, split="train", streaming=streaming)


def test_rows_that_do_not_match_the_card_or_a_damaged_shard_are_named(small_export, tmp_path):
    copy = broken_copy(small_export, tmp_path)
    card = (copy / "README.md").read_text()
    (copy / "README.md").write_text(card.replace("num_examples: 6", "num_examples: 7", 1))
    with pytest.raises(ExportError, match="has 6 rows, its card says 7"):
        load_export(copy)
    (copy / "README.md").write_text(card)
    shard = sorted((copy / "data").glob("test-*.parquet"))[0]
    shard.write_bytes(shard.read_bytes()[:-100])  # truncated
    with pytest.raises(ExportError, match=re.escape(str(shard)) + ": not a readable shard of an export"):
        load_export(copy)
    datasets.Dataset.from_dict({"x": [1, 2]}).to_parquet(str(shard))  # foreign
    with pytest.raises(ExportError, match=re.escape(str(shard)) + r": lacks the columns \['video'"):
        load_export(copy)
    assert load_export(small_export)["test"].num_rows == 6  # the original is intact


def test_labels_outside_the_classes_fail_at_load(small_export, tmp_path):
    import pyarrow.parquet

    copy = broken_copy(small_export, tmp_path)
    shard = sorted((copy / "data").glob("train-*.parquet"))[0]
    table = pyarrow.parquet.read_table(shard)
    labels = table["label"].to_pylist()
    table = table.set_column(table.schema.get_field_index("label"), table.schema.field("label"),
                             pyarrow.array([51] + labels[1:], table.schema.field("label").type))
    pyarrow.parquet.write_table(table, shard)
    with pytest.raises(ExportError, match=re.escape(str(shard)) + r": labels from \d+ to 51 .* for 51 classes"):
        load_export(copy)


def test_a_row_without_bytes_is_not_read_from_a_path(small_export, hmdb51_tree):
    row = load_export(small_export)["test"].with_format(None)[0]
    transform = VideoClipTransform(SETTINGS, train=False)
    absolute = {**row, "video": {"path": str(hmdb51_tree / "videos" / row["video_id"]), "bytes": None}}
    with pytest.raises(ValueError, match="holds no video bytes .*not followed"):
        transform({name: [value] for name, value in absolute.items()})
    # The one exception: a relative path under the video_root the user gives.
    relative = {**row, "video": {"path": os.path.join("videos", row["video_id"]), "bytes": None}}
    rooted = VideoClipTransform(SETTINGS, train=False, video_root=hmdb51_tree)
    from_root = rooted({name: [value] for name, value in relative.items()})["pixel_values"][0]
    assert torch.equal(from_root, transform({name: [value] for name, value in row.items()})["pixel_values"][0])
    with pytest.raises(ValueError, match="holds no video bytes"):
        rooted({name: [value] for name, value in absolute.items()})
    escaping = {**row, "video": {"path": "../../etc/hostname", "bytes": None}}
    with pytest.raises(ValueError, match="leads out of video_root"):
        rooted({name: [value] for name, value in escaping.items()})


def test_shards_smaller_than_a_video_and_bad_arguments(prepared, tmp_path):
    rows = prepared["test"].select(range(3))
    folder = export_dataset({"test": rows}, tmp_path / "one_per_video", "HMDB51", max_shard_bytes=1)
    assert len(list((folder / "data").iterdir())) == 3 and load_export(folder)["test"].num_rows == 3
    assert oct(folder.stat().st_mode & 0o777) == oct(0o777 & ~_umask())  # as any new folder, not mkdtemp's 0o700
    for splits, match in (({}, "at least one split"), ({"test": rows.select([])}, "has no rows"),
                          ({"test": rows.remove_columns("file_size")}, r"lacks the columns \['file_size'\]")):
        with pytest.raises(ValueError, match=match):
            export_dataset(splits, tmp_path / "never", "HMDB51")
    with pytest.raises(ValueError, match="max_shard_bytes=0"):
        export_dataset({"test": rows}, tmp_path / "never", "HMDB51", max_shard_bytes=0)
    assert not (tmp_path / "never").exists()


def _umask() -> int:
    mask = os.umask(0)
    os.umask(mask)
    return mask


EXPORT_SCRIPT = """
import sys
from hf_video.data.export import export_dataset
from hf_video.data.hmdb51 import Hmdb51
splits = Hmdb51(config_name="split1", data_dir=sys.argv[1], cache_dir=sys.argv[2]).as_dataset()
export_dataset(dict(splits), sys.argv[3], "HMDB51", max_shard_bytes=1)  # one shard per video: slow enough to stop
"""


@pytest.mark.parametrize("signum", [signal.SIGTERM, signal.SIGINT, signal.SIGKILL])
def test_an_interrupted_export_leaves_nothing_or_is_cleaned_by_the_next(hmdb51_tree, prepared_cache, tmp_path,
                                                                        signum, caplog):
    output = tmp_path / "export"
    process = subprocess.Popen([sys.executable, "-c", EXPORT_SCRIPT, str(hmdb51_tree), str(prepared_cache),
                                str(output)], stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    deadline = time.monotonic() + 300
    while not list(tmp_path.glob(".export.staging-*/data/*.parquet")):
        assert process.poll() is None and time.monotonic() < deadline, "the export ended before it was stopped"
        time.sleep(0.05)
    process.send_signal(signum)
    assert process.wait(timeout=120) != 0
    assert not output.exists()
    left = list(tmp_path.glob(".export.staging-*"))
    if signum != signal.SIGKILL:
        assert left == []  # removed on the signal
        return
    assert len(left) == 1  # a killed process cannot clean up: the next run into the folder does
    rows = Hmdb51(config_name="split1", data_dir=str(hmdb51_tree), cache_dir=str(prepared_cache)).as_dataset()
    with caplog.at_level("WARNING"):
        export_dataset({"test": rows["test"].select(range(2))}, output, "HMDB51")
    assert "half-written folder(s) left by an interrupted run" in caplog.text and str(left[0]) in caplog.text
    assert sorted(path.name for path in tmp_path.iterdir()) == ["export"]


def test_the_card_is_the_hubs_metadata(small_export):
    from huggingface_hub import DatasetCard

    card = DatasetCard.load(small_export / "README.md")
    data = card.data.to_dict()
    assert data["license"] == "other" and data["task_categories"] == ["video-classification"]
    assert data["pretty_name"] == "HMDB51" and data["size_categories"] == ["n<1K"]
    assert {entry["name"]: entry["num_examples"] for entry in data["dataset_info"]["splits"]} == {"train": 6,
                                                                                                 "test": 6}
    assert "Video(decode=False)" in card.text and "torchcodec" in card.text


@pytest.mark.slow  # a separate process
def test_the_command_line_exports_the_synthetic_set_and_takes_class_names(tmp_path):
    from huggingface_hub import DatasetCard

    from hf_video.data.synthetic import SYNTHETIC_CLASSES, write_synthetic_motion_dataset

    motion = write_synthetic_motion_dataset(tmp_path / "motion", videos_per_class=2, test_per_class=1,
                                            num_frames_range=(8, 8))
    command = [sys.executable, "-m", "hf_video.data.export", "--data_dir", str(motion), "--cache_dir",
               str(tmp_path / "cache")]
    result = subprocess.run([*command, "--output_dir", str(tmp_path / "all")], capture_output=True, text=True,
                            timeout=600)
    assert result.returncode == 0, result.stderr[-3000:]
    exported = load_export(tmp_path / "all")
    assert exported["train"].features["label"].names == list(SYNTHETIC_CLASSES) and exported["train"].num_rows == 8
    card = DatasetCard.load(tmp_path / "all" / "README.md")
    assert card.data.license == "apache-2.0" and "synthetic motion set" in card.data.pretty_name
    reordered = SYNTHETIC_CLASSES[::-1]
    result = subprocess.run([*command, "--output_dir", str(tmp_path / "reordered"), "--class_names",
                             ",".join(reordered)], capture_output=True, text=True, timeout=600)
    assert result.returncode == 0, result.stderr[-3000:]
    again = load_export(tmp_path / "reordered")["train"]
    assert again.features["label"].names == list(reordered)
    names = {row["video_id"]: reordered[row["label"]] for row in again}
    assert all(video_id.split("/")[0] == name for video_id, name in names.items())  # labels follow the names


def test_a_shard_from_another_export_of_the_same_name_and_rows_is_refused(prepared, small_export, tmp_path):
    """Another export of the same splits, cut into as many shards: its train shards have the names and row counts of
    the first's, and other videos. Swapped in, they would mix videos of another split into train."""
    other = export_dataset({"train": prepared["test"].select(range(6)), "test": prepared["train"].select(range(6))},
                           tmp_path / "other", "HMDB51",
                           max_shard_bytes=sum(prepared["test"].select(range(6))["file_size"]) // 3)
    copy = broken_copy(small_export, tmp_path)
    name = sorted((copy / "data").glob("train-*.parquet"))[1].name
    assert len(list((other / "data").glob("train-*.parquet"))) == 3
    shutil.copyfile(other / "data" / name, copy / "data" / name)
    with pytest.raises(ExportError, match=re.escape(str(copy / "data" / name)) + ": not the shard this export's card "
                                                                                "records"):
        load_export(copy)


def test_an_extra_shard_is_named(small_export, tmp_path):
    copy = broken_copy(small_export, tmp_path)
    shutil.copyfile(copy / "data" / "train-00000-of-00003.parquet", copy / "data" / "train-00000-of-00002.parquet")
    with pytest.raises(ExportError, match=r"the train split mixes shards of exports cut into 2 and 3 shards"):
        load_export(copy)
    (copy / "data" / "train-00000-of-00002.parquet").unlink()
    shutil.copyfile(copy / "data" / "train-00000-of-00003.parquet", copy / "data" / "train-00003-of-00003.parquet")
    with pytest.raises(ExportError, match=r"the train split is not whole \(train-00003-of-00003.parquet beyond its 3 "
                                          r"shards\)"):
        load_export(copy)
