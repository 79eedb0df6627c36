"""transformers' own common test mixins, taken from the source distribution of the installed transformers version
(`make install` fetches it into .test-data/; tests never download), importable as the package `transformers_tests`.

The source distribution ships the top-level files of transformers' tests/ folder only. Three modules they import
from sub-packages are absent; stand-ins written here take their place: the export and generation mixins (tests that
do not apply to a video classifier, which neither exports through transformers' exporters nor generates) are empty,
and the configuration tester's common keyword arguments are a list of our own.
"""

import importlib
import re
import shutil
import sys
import tarfile
import tempfile
from pathlib import Path

import pytest
import transformers

from .shipped_data import TEST_DATA_DIR

_STAND_INS = {
    "exporters/test_export.py": '"""Stand-in: no export tests for this model."""\n\n\nclass ExportTesterMixin:\n'
                                '    pass\n',
    "generation/test_utils.py": '"""Stand-in: no generation tests for this model."""\n\n\nclass '
                                'GenerationTesterMixin:\n    pass\n',
    "utils/test_configuration_utils.py": '"""Stand-in: common configuration arguments, each off its default."""\n\n'
                                         'config_common_kwargs = {"return_dict": False, "output_hidden_states": True, '
                                         '"problem_type": "single_label_classification", "id2label": {0: "a", 1: "b"}, '
                                         '"label2id": {"a": 0, "b": 1}, "dtype": "float16"}\n',
}


def battery_module(name: str):
    """`transformers_tests.<name>` (e.g. "test_modeling_common") of the installed transformers version."""
    package = _unpacked_package()
    if str(package.parent) not in sys.path:
        sys.path.insert(0, str(package.parent))
    return importlib.import_module(f"transformers_tests.{name}")


def battery_markers() -> set[str]:
    """The pytest marks the mixins use (they must be registered: the suite runs with --strict-markers); none when the
    source distribution is not there (the battery's module then fails, saying how to get it)."""
    if not _archive().is_file():
        return set()
    used = {name for path in _unpacked_package().glob("*.py")
            for name in re.findall(r"mark\.([a-z_0-9]+)", path.read_text(encoding="utf-8"))}
    return used - {"parametrize", "skip", "skipif", "xfail"}  # pytest's own


def _archive() -> Path:
    return TEST_DATA_DIR / f"transformers-{transformers.__version__}.tar.gz"


def _unpacked_package() -> Path:
    archive = _archive()
    if not archive.is_file():
        pytest.fail(f"No {archive.name} in {TEST_DATA_DIR}: run `make install`, which downloads it from PyPI.")
    package = TEST_DATA_DIR / f"transformers-tests-{transformers.__version__}" / "transformers_tests"
    if not (package / "__init__.py").is_file():
        _unpack(archive, transformers.__version__, package)
    return package


def _unpack(archive: Path, version: str, package: Path) -> None:
    prefix = f"transformers-{version}/tests/"
    package.parent.mkdir(parents=True, exist_ok=True)
    # Each test process unpacks into a folder of its own, then renames it into place: complete or absent.
    staging = Path(tempfile.mkdtemp(prefix=".unpacking-", dir=package.parent))
    with tarfile.open(archive) as sdist:
        for member in sdist.getmembers():
            name = member.name.removeprefix(prefix)
            if member.name.startswith(prefix) and member.isfile() and "/" not in name and name.endswith(".py"):
                (staging / name).write_bytes(sdist.extractfile(member).read())
    for name, text in _STAND_INS.items():
        (staging / name).parent.mkdir(exist_ok=True)
        (staging / name).write_text(text)
        (staging / name).with_name("__init__.py").touch()
    (staging / "__init__.py").touch()
    try:
        staging.rename(package)
    except OSError:  # another process got there first
        shutil.rmtree(staging, ignore_errors=True)
