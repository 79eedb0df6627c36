"""The Hub-ready export: parquet shards with the videos inside and a card; load_export on the folder gives the same
rows, and the transform the same clips, decoded from memory; the CLI; nothing half-written."""

import random
import subprocess
import sys
from pathlib import Path

import datasets
import pytest
import torch

from hf_video.data.clip_settings import ClipSettings
from hf_video.data.clip_transform import VideoClipTransform
from hf_video.data.export import export_dataset, load_export
from hf_video.data.hmdb51 import CITATION, HOMEPAGE, Hmdb51
from hf_video.data.video_io import VideoDecodeError

SETTINGS = ClipSettings(num_frames=4, sample_interval=2, image_size=48)


@pytest.fixture(scope="module")
def prepared(hmdb51_tree, tmp_path_factory):
    builder = Hmdb51(config_name="split1", data_dir=str(hmdb51_tree), cache_dir=str(tmp_path_factory.mktemp("c")))
    builder.download_and_prepare()
    return builder.as_dataset()


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
    with pytest.raises(FileExistsError, match="exists and is not empty"):
        export_dataset(prepared, tmp_path / "used", "HMDB51")
    rows = prepared["test"].with_format(None)
    changed = rows.map(lambda row: {"file_size": row["file_size"] + 1}).select(range(2))
    with pytest.raises(VideoDecodeError, match="differs from when the dataset was prepared"):
        export_dataset({"test": changed}, tmp_path / "export", "HMDB51")
    assert sorted(path.name for path in tmp_path.iterdir()) == ["used"]  # no partial folder, no staging left


def test_the_command_line_exports_a_prepared_split(hmdb51_tree, tmp_path):
    result = subprocess.run(
        [sys.executable, "-m", "hf_video.data.export", "--dataset", "hmdb51", "--data_dir", str(hmdb51_tree),
         "--output_dir", str(tmp_path / "export"), "--cache_dir", str(tmp_path / "cache")],
        capture_output=True, text=True, timeout=600)
    assert result.returncode == 0, result.stderr[-3000:]
    assert "load_export(" in result.stdout and "--repo-type dataset" in result.stdout
    assert load_export(tmp_path / "export")["train"].num_rows == 51
