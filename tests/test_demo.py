"""The demo page's parts without a browser: what one model's answer holds (top classes, the frames it saw with their
times, the windows along the video), a bad file named, and the Space's app.py building the page from its variables."""

import importlib.util
import os
import subprocess
import sys
from pathlib import Path

import pytest

from helpers.own_videos import write_clip

pytest.importorskip("gradio", reason="the [demo] extra (pip install -e '.[demo]') runs the demo page")

from hf_video.demo import classify, example_videos, load  # noqa: E402

SPACE_APP = Path(__file__).resolve().parents[1] / "space" / "app.py"


@pytest.fixture(scope="module")
def model_folder(tmp_path_factory):
    from hf_video import TadaResNetConfig, TadaResNetForVideoClassification, TadaVideoProcessor

    folder = tmp_path_factory.mktemp("demo") / "model"
    config = TadaResNetConfig(depth=18, stem_width=8, hidden_sizes=[8, 16, 32, 64], num_frames=4, image_size=32,
                              id2label={0: "grow", 1: "shrink"})
    TadaResNetForVideoClassification(config).save_pretrained(folder)
    TadaVideoProcessor(num_frames=4, sample_interval=2, image_size=32).save_pretrained(folder)
    return folder


def test_one_models_answer_has_its_classes_frames_and_windows(model_folder, tmp_path):
    video = write_clip(tmp_path / "clip.webm", 40, "vp9_webm")  # 4 s at 10 fps
    result = classify(load(str(model_folder)), str(video), max_seconds=10)
    assert set(result["top"]) == {"grow", "shrink"} and abs(sum(result["top"].values()) - 1) < 1e-5
    captions = [caption for _, caption in result["gallery"]]
    assert len(captions) == 4 and all(caption.startswith("frame ") and caption.endswith(" s") for caption in captions)
    assert result["gallery"][0][0].shape == (32, 32, 3)  # the crop the model saw
    spans = [(row["start"], row["end"]) for row in result["rows"]]
    assert spans[0][0] == 0 and spans[-1][1] == 4.0 and len(spans) > 4  # windows along the whole video
    assert 0 <= result["clip"][0] < result["clip"][1] <= 4.0
    with pytest.raises(ValueError, match=r"lasts 4 s; this page takes videos up to 2 s"):
        classify(load(str(model_folder)), str(video), max_seconds=2)
    (tmp_path / "text.mp4").write_bytes(b"hello" * 100)
    with pytest.raises(Exception, match=r"text\.mp4"):
        classify(load(str(model_folder)), str(tmp_path / "text.mp4"), max_seconds=10)


def test_the_examples_are_time_reversed_twins(tmp_path):
    from hf_video.clips.video_io import read_frames

    grow, shrink, *_ = example_videos(tmp_path)
    forward, backward = read_frames(grow, list(range(32))), read_frames(shrink, list(range(32)))
    assert (forward.float() - backward.flip(0).float()).abs().mean() < 3  # the same frames, the other way round


@pytest.mark.slow  # separate processes
def test_the_space_app_builds_the_page_from_its_variables(model_folder, tmp_path):
    script = (f"import runpy, sys; module = runpy.run_path({str(SPACE_APP)!r}); "
              "import gradio; assert isinstance(module['demo'], gradio.Blocks); print('built')")
    environment = {**os.environ, "HF_VIDEO_MODEL": str(model_folder), "GRADIO_ANALYTICS_ENABLED": "False"}
    result = subprocess.run([sys.executable, "-c", script], capture_output=True, text=True, timeout=300,
                            env=environment, cwd=tmp_path)
    assert result.returncode == 0 and "built" in result.stdout, result.stderr[-3000:]
    assert len(list((tmp_path / "examples").glob("*.webm"))) == 4
    environment.pop("HF_VIDEO_MODEL")
    result = subprocess.run([sys.executable, str(SPACE_APP)], capture_output=True, text=True, timeout=300,
                            env=environment, cwd=tmp_path)
    assert result.returncode != 0 and "HF_VIDEO_MODEL" in result.stderr
    assert importlib.util.find_spec("hf_video.demo") is not None
