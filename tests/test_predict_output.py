"""`python -m hf_video.predict`'s output file as a stopped run leaves it: the rows kept, the videos a continued run
skips, and the video being written when the run stopped (some of its windows written, one cut short) redone whole."""

import json

import pytest

from hf_video.predict import OutputFile


def row(video, start):
    return {"video": video, "start": start, "end": start + 1, "labels": ["a"], "scores": [0.9], "views": 1,
            "error": None}


@pytest.mark.parametrize("suffix", [".jsonl", ".csv"])
def test_a_video_cut_short_is_redone_whole_and_finished_ones_are_kept(tmp_path, suffix):
    path = tmp_path / f"out{suffix}"
    output = OutputFile(str(path))
    output.write([row("a.mp4", 0), row("a.mp4", 1)])
    output.write([row("b.mp4", 0), row("b.mp4", 1), row("b.mp4", 2)])
    text = path.read_text(encoding="utf-8")
    path.write_text(text[:-25], encoding="utf-8")  # stopped while writing b's last window
    resumed = OutputFile(str(path))
    assert resumed.done == {"a.mp4"}  # b goes: some of its windows were missing
    kept = path.read_text(encoding="utf-8").splitlines()
    assert len(kept) == (3 if suffix == ".csv" else 2) and all("b.mp4" not in line for line in kept)
    resumed.write([row("b.mp4", 0)])
    assert OutputFile(str(path)).done == {"a.mp4", "b.mp4"}


def test_a_cut_line_of_a_new_video_leaves_the_finished_one(tmp_path):
    path = tmp_path / "out.jsonl"
    OutputFile(str(path)).write([row("a.mp4", 0)])
    path.write_text(path.read_text(encoding="utf-8") + json.dumps(row("c.mp4", 0))[:30], encoding="utf-8")
    assert OutputFile(str(path)).done == {"a.mp4"}
    assert path.read_text(encoding="utf-8").count("\n") == 1
