"""examples/finetune_hmdb51.ipynb runs end to end (nbclient), as shipped: the synthetic set and a small model."""

import os
from pathlib import Path

import nbformat
from nbclient import NotebookClient

NOTEBOOK = Path(__file__).resolve().parents[1] / "examples" / "finetune_hmdb51.ipynb"


def test_notebook_fine_tunes_evaluates_and_predicts(tmp_path, monkeypatch):
    monkeypatch.setenv("HF_DATASETS_CACHE", str(tmp_path / "datasets_cache"))
    monkeypatch.setenv("OMP_NUM_THREADS", "1")
    notebook = nbformat.read(NOTEBOOK, as_version=4)
    NotebookClient(notebook, timeout=600, kernel_name="python3", resources={"metadata": {"path": str(tmp_path)}}
                   ).execute()
    outputs = "".join(output.get("text", "") for cell in notebook.cells if cell.cell_type == "code"
                      for output in cell.get("outputs", []))
    assert "using the synthetic motion set" in outputs
    assert "'video_top1'" in outputs and "->" in outputs  # multi-view results and a pipeline prediction
    assert (tmp_path / "outputs" / "notebook_tada_hmdb51" / "model.safetensors").is_file()
    assert os.path.isfile(tmp_path / "data" / "synthetic_motion" / "synthetic_motion.json")
