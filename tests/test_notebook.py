"""examples/finetune_hmdb51.ipynb runs end to end (nbclient) on the synthetic set, with fewer epochs than shipped; it
draws its pictures, and the committed copy holds its executed outputs."""

import os
from pathlib import Path

import nbformat
import pytest
from nbclient import NotebookClient

# Processes, real training runs or whole batteries: left out of `make test-fast`, run by `make test`.
pytestmark = pytest.mark.slow

NOTEBOOK = Path(__file__).resolve().parents[1] / "examples" / "finetune_hmdb51.ipynb"


def pictures(notebook) -> int:
    return sum("image/png" in output.get("data", {}) for cell in notebook.cells if cell.cell_type == "code"
               for output in cell.get("outputs", []))


def test_the_committed_notebook_is_executed_with_its_pictures():
    notebook = nbformat.read(NOTEBOOK, as_version=4)
    assert all(cell.get("execution_count") for cell in notebook.cells if cell.cell_type == "code")
    assert pictures(notebook) == 3  # the clip's frames, the training curves, the confusion matrix


def test_notebook_fine_tunes_evaluates_and_predicts(tmp_path, monkeypatch):
    monkeypatch.setenv("HF_DATASETS_CACHE", str(tmp_path / "datasets_cache"))
    monkeypatch.setenv("OMP_NUM_THREADS", "1")
    notebook = nbformat.read(NOTEBOOK, as_version=4)
    for cell in notebook.cells:
        if cell.cell_type == "code":
            cell.outputs = []  # run afresh, not checked against the committed outputs
    parameters = next(index for index, cell in enumerate(notebook.cells) if cell.source.startswith("# Parameters"))
    notebook.cells.insert(parameters + 1, nbformat.v4.new_code_cell("EPOCHS = 2  # the test's shorter run"))
    NotebookClient(notebook, timeout=600, kernel_name="python3", resources={"metadata": {"path": str(tmp_path)}}
                   ).execute()
    outputs = "".join(output.get("text", "") for cell in notebook.cells if cell.cell_type == "code"
                      for output in cell.get("outputs", []))
    assert "using the synthetic motion set" in outputs and "working in this folder" in outputs
    assert "video top-1" in outputs and outputs.count(" predicted ") == 4  # multi-view results, pipeline calls
    assert "Not pushed: set PUSH_TO_HUB_ID to push." in outputs
    assert pictures(notebook) == 3
    assert (tmp_path / "outputs" / "notebook_tada_hmdb51" / "model.safetensors").is_file()
    assert os.path.isfile(tmp_path / "data" / "synthetic_motion" / "synthetic_motion.json")
