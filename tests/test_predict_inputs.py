"""What `python -m hf_video.predict` reads: a dataset's rows (`--dataset_name`), each named by dataset, split and
index, its paths resolved and its bytes kept in memory; and the mistakes in naming one, each said."""

import datasets
import pytest

from hf_video.clips.video_sources import InMemoryVideo
from hf_video.predict import dataset_videos, parse_arguments, row_source


def write_table(folder, split="train"):
    (folder / "data").mkdir(parents=True)
    datasets.Dataset.from_dict({  # {"path", "bytes"} as datasets.Video(decode=False) gives them
        "clip": [{"bytes": b"RIFF....", "path": "a.avi"}, {"bytes": None, "path": "videos/b.mp4"}],
        "start": [None, 1.5], "end": [None, 4.0],
    }).to_parquet(str(folder / "data" / f"{split}.parquet"))
    return folder


def test_a_datasets_rows_are_named_by_split_and_index_with_their_segments(tmp_path):
    folder = write_table(tmp_path / "table")
    entries, tables = dataset_videos(str(folder), None, None, "clip", {})
    assert entries == [(f"{folder}:train:0", None, None, ("train", 0)),
                       (f"{folder}:train:1", 1.5, 4.0, ("train", 1))]
    rows, column, base_dir = tables["train"]
    in_memory = row_source(entries[0][0], rows[0], column, base_dir)
    assert isinstance(in_memory, InMemoryVideo) and in_memory.data == b"RIFF...." and "a.avi" in in_memory.name
    assert row_source(entries[1][0], rows[1], column, str(tmp_path)) == str(tmp_path / "videos" / "b.mp4")


def test_naming_a_dataset_wrongly_is_said(tmp_path):
    folder = write_table(tmp_path / "table")
    with pytest.raises(SystemExit, match="no split test; it has train"):
        dataset_videos(str(folder), None, ["test"], "clip", {})
    with pytest.raises(SystemExit, match=r"no video column 'video or path or file_name.*its columns: clip, start"):
        dataset_videos(str(folder), None, None, None, {})
    with pytest.raises(SystemExit, match="no such file or folder"):
        dataset_videos(str(tmp_path / "missing"), None, None, None, {})


@pytest.mark.parametrize("arguments, message", [
    (["--model", "m", "--output", "o.jsonl"], "name videos"),
    (["--model", "m", "--output", "o.jsonl", "clip.mp4", "--split", "train"], "choose from --dataset_name"),
])
def test_a_run_with_nothing_to_read_or_dataset_options_without_a_dataset_is_refused(arguments, message, capsys):
    with pytest.raises(SystemExit):
        parse_arguments(arguments)
    assert message in capsys.readouterr().err
