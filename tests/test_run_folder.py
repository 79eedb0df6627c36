"""Checkpoints whose files are all there but cut short (a full disk, a kill while saving): named, never resumed from;
an automatic resume takes the last whole one. The files are written as the Trainer writes them (torch.save,
safetensors, JSON)."""

import json
import logging

import pytest
import torch
from safetensors.torch import save_file

from hf_video.training import RunFolderError, checkpoint_problems, resolve_resume

FILES = ("model.safetensors", "optimizer.pt", "scheduler.pt", "trainer_state.json", "rng_state.pth")


def write_checkpoint(folder, step: int):
    checkpoint = folder / f"checkpoint-{step}"
    checkpoint.mkdir(parents=True)
    save_file({"weight": torch.randn(64, 64), "bias": torch.randn(64)}, str(checkpoint / "model.safetensors"))
    torch.save({"state": {0: {"exp_avg": torch.randn(64, 64)}}, "param_groups": []}, checkpoint / "optimizer.pt")
    torch.save({"last_epoch": step}, checkpoint / "scheduler.pt")
    torch.save({"python": 1, "cpu": torch.get_rng_state()}, checkpoint / "rng_state.pth")
    (checkpoint / "trainer_state.json").write_text(json.dumps({"global_step": step, "log_history": []}))
    return checkpoint


@pytest.mark.parametrize("name", FILES)
def test_a_truncated_file_is_named_and_the_last_whole_checkpoint_is_resumed(tmp_path, name, caplog):
    earlier, last = write_checkpoint(tmp_path, 6), write_checkpoint(tmp_path, 12)
    assert checkpoint_problems(earlier) == checkpoint_problems(last) == []
    damaged = last / name
    damaged.write_bytes(damaged.read_bytes()[: damaged.stat().st_size * 2 // 3])
    problems = checkpoint_problems(last)
    assert len(problems) == 1 and problems[0].startswith(f"an intact {name} (truncated or damaged"), problems
    with caplog.at_level(logging.WARNING):
        assert resolve_resume(tmp_path, None, False) == str(earlier)
    assert f"{last} is incomplete" in caplog.text and name in caplog.text
    with pytest.raises(RunFolderError, match=f"cannot resume from {last}: it lacks an intact {name}"):
        resolve_resume(tmp_path, str(last), False)
    damaged.write_bytes(b"")
    assert checkpoint_problems(last)[0].startswith(f"an intact {name} (truncated or damaged")
