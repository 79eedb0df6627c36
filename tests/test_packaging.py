"""The package people install: a wheel built from the sources, installed into a clean environment without the
checkout on the path, runs the pipeline on a saved tiny model with none of the extras' packages; its metadata has the
core and the extras; a part whose extra is missing says which extra to install.

The clean environment is a new virtual environment holding only the wheel; the dependencies (torch alone is several
GB) come from the test environment's site-packages through a path file, without its editable hf_video."""

import shutil
import site
import subprocess
import sys
import sysconfig
import textwrap
import zipfile
from email.parser import Parser
from pathlib import Path

import pytest

import hf_video

# Processes, real training runs or whole batteries: left out of `make test-fast`, run by `make test`.
pytestmark = pytest.mark.slow

ROOT = Path(__file__).resolve().parents[1]


@pytest.fixture(scope="module")
def wheel(tmp_path_factory) -> Path:
    """The wheel, built from a copy of what the sources hold (nothing of the checkout's build state)."""
    work = tmp_path_factory.mktemp("wheel")
    source = work / "source"
    source.mkdir()
    for name in ("pyproject.toml", "README.md", "LICENSE", "NOTICE"):
        shutil.copy(ROOT / name, source / name)
    shutil.copytree(ROOT / "hf_video", source / "hf_video", ignore=shutil.ignore_patterns("__pycache__"))
    subprocess.run([sys.executable, "-m", "pip", "wheel", "--no-deps", "--no-build-isolation", "--quiet", "-w",
                    str(work / "dist"), str(source)], check=True, capture_output=True, text=True, timeout=300)
    (built,) = (work / "dist").glob("*.whl")
    return built


def test_the_wheel_holds_the_package_its_licences_and_its_metadata(wheel):
    assert wheel.name == f"tada_video-{hf_video.__version__}-py3-none-any.whl"
    with zipfile.ZipFile(wheel) as archive:
        names = set(archive.namelist())
        metadata = Parser().parsestr(archive.read(f"tada_video-{hf_video.__version__}.dist-info/METADATA").decode())
    for module in ("hf_video/clips/video_processing_tada.py", "hf_video/models/tada_resnet/modeling_tada_resnet.py",
                   "hf_video/data/hmdb51.py", "hf_video/training/top_k_accuracy.py"):
        assert module in names, module
    licences = {name.rsplit("/", 1)[-1] for name in names if "/licenses/" in name}
    assert licences == {"LICENSE", "NOTICE"}
    assert metadata["Name"] == "tada-video" and metadata["License-Expression"] == "Apache-2.0"
    requirements = metadata.get_all("Requires-Dist")
    core = {requirement.split(">")[0].split("<")[0].split(";")[0] for requirement in requirements
            if "extra ==" not in requirement}
    assert core == {"torch", "torchvision", "transformers", "safetensors", "huggingface_hub", "av", "numpy", "pillow"}
    assert set(metadata.get_all("Provides-Extra")) == {"data", "train", "notebook", "demo", "test"}
    assert any(requirement.startswith("datasets") and 'extra == "data"' in requirement for requirement in requirements)


CLEAN_RUN = textwrap.dedent("""
    import importlib.metadata, os, sys
    import numpy as np

    # What the core install leaves out is not there (the extras' packages, blocked): inference needs none of them.
    EXTRAS_ONLY = ("datasets", "accelerate", "evaluate", "tensorboard", "decord", "rarfile")
    for name in EXTRAS_ONLY:
        sys.modules[name] = None

    import hf_video
    assert hf_video.__file__.startswith(sys.prefix), hf_video.__file__  # the wheel's copy, not the checkout
    assert importlib.metadata.version("tada-video") == hf_video.__version__
    from hf_video import TadaResNetConfig, TadaResNetForVideoClassification, TadaVideoProcessor
    from hf_video.data.video_writing import write_mpeg4_avi
    from transformers import pipeline

    labels = {0: "grow", 1: "shrink"}
    config = TadaResNetConfig(depth=18, stem_width=8, hidden_sizes=[8, 16, 32, 64], num_frames=4, image_size=32,
                              num_labels=2, id2label=labels)
    TadaResNetForVideoClassification(config).save_pretrained("model")
    TadaVideoProcessor(num_frames=4, sample_interval=2, image_size=32).save_pretrained("model")
    frames = np.random.default_rng(0).integers(0, 256, (12, 48, 64, 3), dtype=np.uint8)
    write_mpeg4_avi("clip.avi", frames)
    predictions = pipeline("video-classification", model="model")("clip.avi", top_k=2)
    assert sorted(p["label"] for p in predictions) == ["grow", "shrink"], predictions

    # Prediction over many videos needs no extra either; its console script is installed.
    from hf_video.predict import main as predict
    assert predict(["clip.avi", "--model", "model", "--output", "out.jsonl", "--top_k", "1"])["videos"] == 1
    import subprocess
    script = os.path.join(os.path.dirname(sys.executable), "hf-video-predict")
    ran = subprocess.run([script, "--help"], capture_output=True, text=True)
    assert ran.returncode == 0 and "--window_seconds" in ran.stdout, ran.stderr

    # A part whose extra is missing names the extra.
    for statement, extra in (("import hf_video.data.hmdb51", "data"), ("import hf_video.data.export", "data"),
                             ("import hf_video.training", "train")):
        try:
            exec(statement)
        except ImportError as error:
            assert f"pip install 'tada-video[{extra}]'" in str(error), error
        else:
            raise AssertionError(statement + " imported without its extra")
    print("clean install works")
""")


def test_the_wheel_installed_alone_runs_the_pipeline(wheel, tmp_path):
    environment = tmp_path / "venv"
    subprocess.run([sys.executable, "-m", "venv", "--without-pip", str(environment)], check=True, timeout=120)
    python = environment / "bin" / "python"
    subprocess.run([sys.executable, "-m", "pip", "--python", str(python), "install", "--no-deps", "--no-index",
                    "--quiet", str(wheel)], check=True, capture_output=True, text=True, timeout=300)
    # The dependencies: the test environment's site-packages, as a path (its editable hf_video is not loaded).
    packages = subprocess.run([str(python), "-c", "import sysconfig; print(sysconfig.get_path('purelib'))"],
                              check=True, capture_output=True, text=True).stdout.strip()
    dependencies = {sysconfig.get_path("purelib"), *site.getsitepackages()}
    Path(packages, "test_dependencies.pth").write_text("\n".join(sorted(dependencies)) + "\n")
    work = tmp_path / "elsewhere"
    work.mkdir()
    result = subprocess.run([str(python), "-c", CLEAN_RUN], cwd=work, capture_output=True, text=True, timeout=600,
                            env={"PATH": "/usr/bin:/bin", "HOME": str(tmp_path), "HF_HUB_OFFLINE": "1",
                                 "OMP_NUM_THREADS": "1"})
    assert result.returncode == 0, result.stderr[-4000:]
    assert "clean install works" in result.stdout
