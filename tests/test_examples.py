import csv
import json
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
from hf_video.models.tada_resnet.convert_tada_resnet_original_to_hf import convert_tada_resnet_checkpoint
from helpers.dataset_trees import write_ssv2_tree
from helpers.shipped_data import REFERENCE_DIR
from helpers.video_files import copied_tree

# Processes, real training runs or whole batteries: left out of `make test-fast`, run by `make test`.
pytestmark = pytest.mark.slow

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


DOCUMENTS = [ROOT / "README.md", *sorted((ROOT / "docs").glob("*.md"))]
SNIPPETS = [(document, snippet) for document in DOCUMENTS
            for snippet in re.findall(r"```python\n(.*?)```", document.read_text(), flags=re.DOTALL)]


@pytest.fixture(scope="module")
def readme_scratch(tmp_path_factory, hmdb51_tree, bikes_video):
    """A scratch directory holding stand-ins for the files the documents name: data/hmdb51 (a generated 51-class
    tree with real HMDB51 names), data/ssv2 (a small tree in the official layout), tada2d-r50-k400-8x8 (the converted
    reference checkpoint of the original implementation), tada2d-r50-imagenet (inflated from a randomly initialised
    torchvision ResNet-50 instead of the ImageNet download), video.mp4 (real footage), data/synthetic_motion (a small
    synthetic set) and outputs/tada_demo (what `make run` writes there: an untrained small model of its labels, with
    its processor)."""
    from hf_video import TadaResNetConfig, TadaResNetForVideoClassification, TadaVideoProcessor
    from hf_video.data import write_synthetic_motion_dataset

    scratch = tmp_path_factory.mktemp("readme")
    copied_tree(hmdb51_tree, scratch / "data" / "hmdb51")
    write_ssv2_tree(scratch / "data" / "ssv2")
    convert_tada_resnet_checkpoint(REFERENCE_DIR / "tada_original" / "tada2d_public_tadaconv_format.pyth",
                                scratch / "tada2d-r50-k400-8x8", num_frames=8, image_size=64)
    shutil.copyfile(bikes_video, scratch / "video.mp4")
    inflate_resnet_2d(torchvision.models.resnet50(), num_frames=16, image_size=112,
                      id2label=dict(enumerate(HMDB51_CLASSES))).save_pretrained(scratch / "tada2d-r50-imagenet")
    synthetic = write_synthetic_motion_dataset(scratch / "data" / "synthetic_motion", videos_per_class=2,
                                               test_per_class=1)
    labels = json.loads((synthetic / "synthetic_motion.json").read_text())["class_names"]
    demo = TadaResNetConfig(depth=18, stem_width=16, hidden_sizes=[16, 32, 64, 128], num_frames=8, image_size=32,
                            id2label=dict(enumerate(labels)))
    TadaResNetForVideoClassification(demo).save_pretrained(scratch / "outputs" / "tada_demo")
    TadaVideoProcessor(num_frames=8, sample_interval=2, image_size=32).save_pretrained(
        scratch / "outputs" / "tada_demo")
    return scratch


def test_the_documents_show_python_snippets():
    assert sum(document.name == "README.md" for document, _ in SNIPPETS) >= 3 and len(SNIPPETS) >= 8


@pytest.mark.parametrize("document, snippet", SNIPPETS,
                         ids=[f"{document.name}-{index}" for index, (document, _) in enumerate(SNIPPETS)])
def test_document_python_snippet_runs(document, snippet, readme_scratch):
    """Every ```python block of the README and docs/ runs as written, in the scratch directory, with a scratch
    datasets cache. Blocks whose first line is "# needs network" (downloads) are compiled, not run."""
    if snippet.startswith("# needs network"):
        compile(snippet, document.name, "exec")
        return
    environment = {**os.environ, "HF_DATASETS_CACHE": str(readme_scratch / "datasets_cache")}
    result = subprocess.run([sys.executable, "-c", snippet], cwd=readme_scratch, capture_output=True, text=True,
                            timeout=600, env=environment)
    assert result.returncode == 0, f"{document.name} snippet failed:\n{snippet}\n{result.stderr[-3000:]}"


def test_relative_links_in_the_documents_lead_somewhere():
    for document in DOCUMENTS:
        for target in re.findall(r"\]\(([^)#:]+)\)", document.read_text()):
            assert (document.parent / target).exists(), f"{document.name} links to {target}, which does not exist"
