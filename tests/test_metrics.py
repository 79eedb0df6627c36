"""Accuracy through `evaluate`, offline: our top-k metric loads by path with the Hub switched off and an empty cache,
and gives the hand-computed figures for clips and for videos (mean softmax of their views)."""

import json
import os
import subprocess
import sys
import textwrap

import numpy as np
import pytest
from transformers import EvalPrediction

from hf_video.training import TOP_K_ACCURACY, clip_accuracy, load_top_k_accuracy, multi_view_accuracy

LOGITS = np.array([[3.0, 1.0, 0.5, -1.0, -2.0, -3.0],   # ranks 0, 1, 2, ...
                   [0.1, 2.0, 1.0, 0.0, -0.5, -1.0],    # ranks 1, 2, 0, ...
                   [1.0, -3.0, 0.2, 0.1, 0.0, 9.0],     # ranks 5, 0, 2, 3, 4, 1
                   [0.0, 2.5, 3.0, 0.1, 0.2, -0.1]],    # ranks 2, 1, 4, 3, 0, 5
                  dtype=np.float32)


def test_clip_accuracy_is_top_k_of_each_row():
    result = clip_accuracy(EvalPrediction(predictions=LOGITS, label_ids=np.array([0, 2, 1, 2])))
    assert result == {"accuracy": 0.5, "top5_accuracy": 0.75}  # row 2's class 1 ranks sixth
    metric = load_top_k_accuracy()
    assert metric.compute(predictions=LOGITS, references=[1, 2, 0, 5], k=(1, 2, 10)) == {
        "top1": 0.0, "top2": 0.75, "top10": 1.0}  # k is capped at the number of classes


def test_video_accuracy_averages_the_softmax_of_a_videos_views():
    labels, videos = np.array([1, 1, 5, 5]), np.array([7, 7, 9, 9])
    result = multi_view_accuracy(LOGITS, labels, videos)
    # Video 7 (label 1): mean softmax [0.44, 0.33, ...] picks 0. Video 9 (label 5): row 2's confident 5 (p = 0.999)
    # outweighs row 3's 2 (p = 0.56).
    assert result == {"clip_accuracy": 0.5, "clip_top5_accuracy": 0.75, "video_accuracy": 0.5,
                      "video_top5_accuracy": 1.0, "num_videos": 2,
                      "num_views": 4}
    softmax = np.exp(LOGITS) / np.exp(LOGITS).sum(axis=1, keepdims=True)
    assert [softmax[:2].mean(axis=0).argmax(), softmax[2:].mean(axis=0).argmax()] == [0, 5]
    with pytest.raises(ValueError, match="video_ids has 3 entries for 4 rows"):
        load_top_k_accuracy().compute(predictions=LOGITS, references=labels, video_ids=[7, 7, 9])


def test_the_metric_loads_with_the_hub_off_and_nothing_cached(tmp_path):
    script = textwrap.dedent(f"""
        import json, evaluate
        metric = evaluate.load({str(TOP_K_ACCURACY)!r})
        print(json.dumps(metric.compute(predictions=[[0.1, 0.9], [0.8, 0.2]], references=[1, 1], k=(1,))))
    """)
    environment = {**os.environ, "HF_HUB_OFFLINE": "1", "HF_DATASETS_OFFLINE": "1", "HF_HOME": str(tmp_path / "hf"),
                   "HF_EVALUATE_OFFLINE": "1"}
    result = subprocess.run([sys.executable, "-c", script], capture_output=True, text=True, timeout=120,
                            env=environment)
    assert result.returncode == 0, result.stderr[-2000:]
    assert json.loads(result.stdout.strip().splitlines()[-1]) == {"top1": 0.5}
