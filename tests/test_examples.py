import csv
import os
import re
import shutil
import subprocess
import sys
from pathlib import Path

import pytest
import torchvision

from hf_video import inflate_resnet_2d
from hf_video.data.hmdb51_labels import HMDB51_CLASSES
from hf_video.models.tada_resnet.convert_tada_resnet_original_to_hf import convert_original_checkpoint
from helpers.shipped_data import REFERENCE_DIR
from helpers.video_files import linked_copy

ROOT = Path(__file__).resolve().parents[1]


def test_hmdb51_classes_are_the_real_class_folders_sorted(reference_dir):
    with open(reference_dir / "hmdb51" / "videos.tsv", newline="") as table:
        folders = {row["class"] for row in csv.DictReader(table, delimiter="\t")}
    assert list(HMDB51_CLASSES) == sorted(folders) and len(HMDB51_CLASSES) == 51


def test_classify_clip_saves_reloads_and_prints_top5(tmp_path):
    output_dir = tmp_path / "fresh"
    result = subprocess.run(
        [sys.executable, str(ROOT / "examples" / "classify_clip.py"), "--depth", "18", "--num_frames", "4",
         "--image_size", "64", "--output_dir", str(output_dir)],
        capture_output=True, text=True, timeout=300,
    )
    assert result.returncode == 0, result.stderr[-3000:]
    assert (output_dir / "config.json").is_file() and (output_dir / "model.safetensors").is_file()
    rows = re.findall(r"^  (\S+)\s+([01]\.\d{4})$", result.stdout, flags=re.MULTILINE)
    assert len(rows) == 5
    assert all(label in HMDB51_CLASSES for label, _ in rows)
    scores = [float(score) for _, score in rows]
    assert scores == sorted(scores, reverse=True) and 0 < sum(scores) <= 1.0001
    assert "Top-5 for a generated 4x64x64 clip" in result.stdout


README_SNIPPETS = re.findall(r"```python\n(.*?)```", (ROOT / "README.md").read_text(), flags=re.DOTALL)


@pytest.fixture(scope="module")
def readme_scratch(tmp_path_factory, hmdb51_tree, bikes_video):
    """A scratch directory holding stand-ins for the files the README names: data/hmdb51 (a generated 51-class tree
    with real HMDB51 names), tada2d-r50-k400-8x8 (the converted reference checkpoint of the original
    implementation), tada2d-r50-imagenet (inflated from a randomly initialised torchvision ResNet-50 instead of the
    ImageNet download) and video.mp4 (real footage)."""
    scratch = tmp_path_factory.mktemp("readme")
    linked_copy(hmdb51_tree, scratch / "data" / "hmdb51")
    convert_original_checkpoint(REFERENCE_DIR / "tada_original" / "tada2d_public_tadaconv_format.pyth",
                                scratch / "tada2d-r50-k400-8x8", num_frames=8, image_size=64)
    shutil.copyfile(bikes_video, scratch / "video.mp4")
    inflate_resnet_2d(torchvision.models.resnet50(), num_frames=16, image_size=112,
                      id2label=dict(enumerate(HMDB51_CLASSES))).save_pretrained(scratch / "tada2d-r50-imagenet")
    return scratch


def test_the_readme_shows_python_snippets():
    assert len(README_SNIPPETS) >= 5


@pytest.mark.parametrize("snippet", README_SNIPPETS, ids=[f"snippet{i}" for i in range(len(README_SNIPPETS))])
def test_readme_python_snippet_runs(snippet, readme_scratch):
    """Every ```python block of the README runs as written, in the scratch directory, with a scratch datasets
    cache. Blocks whose first line is "# needs network" (downloads) are compiled, not run."""
    if snippet.startswith("# needs network"):
        compile(snippet, "README.md", "exec")
        return
    environment = {**os.environ, "HF_DATASETS_CACHE": str(readme_scratch / "datasets_cache")}
    result = subprocess.run([sys.executable, "-c", snippet], cwd=readme_scratch, capture_output=True, text=True,
                            timeout=600, env=environment)
    assert result.returncode == 0, f"README snippet failed:\n{snippet}\n{result.stderr[-3000:]}"
