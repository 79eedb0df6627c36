import csv
import os
import re
import shutil
import subprocess
import sys
from pathlib import Path

from hf_video.data.hmdb51_labels import HMDB51_CLASSES
from hf_video.models.tada_resnet.convert_tada_resnet_original_to_hf import convert_original_checkpoint
from video_files import linked_copy

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


def test_readme_python_snippets_run(tmp_path, hmdb51_tree, reference_dir, bikes_video):
    """Every ```python block of the README runs as written, in a scratch directory holding stand-ins for the files
    the README names: data/hmdb51 (a generated 51-class tree with real HMDB51 names), tada2d-r50-k400-8x8 (the
    converted reference checkpoint of the original implementation) and video.mp4 (real footage). Blocks whose first
    line is "# needs network" (downloads) are compiled, not run."""
    linked_copy(hmdb51_tree, tmp_path / "data" / "hmdb51")
    convert_original_checkpoint(reference_dir / "tada_original" / "tada2d_public_tadaconv_format.pyth",
                                tmp_path / "tada2d-r50-k400-8x8", num_frames=8, image_size=64)
    shutil.copyfile(bikes_video, tmp_path / "video.mp4")
    environment = {**os.environ, "HF_DATASETS_CACHE": str(tmp_path / "datasets_cache")}
    readme = (ROOT / "README.md").read_text()
    snippets = re.findall(r"```python\n(.*?)```", readme, flags=re.DOTALL)
    assert snippets, "the README shows no Python snippet"
    for snippet in snippets:
        if snippet.startswith("# needs network"):
            compile(snippet, "README.md", "exec")
            continue
        result = subprocess.run([sys.executable, "-c", snippet], cwd=tmp_path, capture_output=True, text=True,
                                timeout=600, env=environment)
        assert result.returncode == 0, f"README snippet failed:\n{snippet}\n{result.stderr[-3000:]}"
