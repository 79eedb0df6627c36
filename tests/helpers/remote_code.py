"""A saved model folder run the way a user without hf_video runs it: `pipeline(..., trust_remote_code=True)` in a
fresh process where importing hf_video, datasets or decord fails."""

import json
import os
import subprocess
import sys
import textwrap

import pytest

from helpers.video_files import write_numbered_video


def assert_pipeline_runs_without_hf_video(folder, tmp_path, shipped_files):
    """The folder's answer on a generated video, remote code against hf_video's, to 1e-6; the folder holds
    `shipped_files`, and the shared modules linked into each model package arrive as copies of their one source."""
    from transformers import pipeline

    from hf_video.models import config_checks, tada_ops, tada_v2_ops

    video = write_numbered_video(tmp_path / "clip.avi", 40)
    expected = pipeline("video-classification", model=str(folder))(str(video), top_k=3)
    script = textwrap.dedent(f"""
        import json, sys
        for name in ("hf_video", "datasets", "decord"):
            sys.modules[name] = None  # importing any of them now fails
        from transformers import pipeline
        classifier = pipeline("video-classification", model={str(folder)!r}, trust_remote_code=True)
        assert type(classifier.model).__module__.startswith("transformers_modules"), type(classifier.model)
        print("ANSWER", json.dumps(classifier({str(video)!r}, top_k=3)))
    """)
    env = {**os.environ, "HF_MODULES_CACHE": str(tmp_path / "modules"), "HF_HUB_OFFLINE": "1"}
    result = subprocess.run([sys.executable, "-c", script], cwd=tmp_path, env=env, capture_output=True, text=True,
                            timeout=300)
    assert result.returncode == 0, result.stderr[-3000:]
    answer = json.loads(result.stdout.split("ANSWER", 1)[1])
    assert [entry["label"] for entry in answer] == [entry["label"] for entry in expected]
    assert [entry["score"] for entry in answer] == pytest.approx([entry["score"] for entry in expected], abs=1e-6)
    assert set(shipped_files) <= {path.name for path in folder.glob("*.py")}
    for module in (tada_ops, tada_v2_ops, config_checks):
        assert (folder / f"{module.__name__.rsplit('.', 1)[1]}.py").read_text() == open(module.__file__).read()
