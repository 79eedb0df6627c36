"""A clone of the repository, with nothing beside it, passes its tests: nothing reads outside the repository."""

import os
import re
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

# Processes, real training runs or whole batteries: left out of `make test-fast`, run by `make test`.
pytestmark = pytest.mark.slow

ROOT = Path(__file__).resolve().parents[1]


def tracked_files() -> list[str]:
    listed = subprocess.run(["git", "ls-files", "--cached", "--others", "--exclude-standard"], cwd=ROOT,
                            capture_output=True, text=True, check=True)
    return [name for name in listed.stdout.splitlines() if (ROOT / name).is_file()]


def test_no_file_names_the_folder_beside_the_repository():
    sibling = "sha" + "red"  # spelled in two halves, so that this file does not name it
    outside = re.compile(rf"\.\./{sibling}\b|[\"']{sibling}[\"']")
    # Every text file: code, build files, scripts without an ending such as .ci/run, and the documents.
    offenders = [name for name in tracked_files() if b"\0" not in (ROOT / name).read_bytes()[:8192]
                 and outside.search((ROOT / name).read_text(encoding="utf-8", errors="replace"))]
    assert offenders == [], f"these files read outside the repository: {offenders}"


def test_a_copy_with_no_sibling_passes_the_tests_that_read_reference_data(tmp_path):
    copy = tmp_path / "alone" / "hf_video_clone"  # its parent holds nothing else
    for name in tracked_files():
        (copy / name).parent.mkdir(parents=True, exist_ok=True)
        shutil.copy2(ROOT / name, copy / name)
    assert sorted(path.name for path in copy.parent.iterdir()) == ["hf_video_clone"]
    tests = ["tests/test_original_equivalence.py", "tests/test_model_cards.py",
             "tests/test_benchmarks.py::test_original_formulation_reproduces_the_original_implementation",
             "tests/test_hmdb51_builder.py::test_splits_labels_ids_and_metadata"]
    # The copy's own package and tests come first on the path (python -m puts the working folder there).
    result = subprocess.run([sys.executable, "-m", "pytest", "-q", "-p", "no:cacheprovider", "-n", "0", *tests],
                            cwd=copy, capture_output=True, text=True, timeout=600,
                            env={**os.environ, "PYTHONDONTWRITEBYTECODE": "1"})
    assert result.returncode == 0, result.stdout[-3000:] + result.stderr[-3000:]
    assert re.search(r"\b\d+ passed", result.stdout) and "skipped" not in result.stdout
    assert str(copy / "hf_video") in subprocess.run(
        [sys.executable, "-c", "import hf_video; print(hf_video.__file__)"], cwd=copy, capture_output=True,
        text=True, check=True).stdout  # the copy's code was the one tested
