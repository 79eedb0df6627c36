"""The demo page as a Hugging Face Space: the model is the Space's HF_VIDEO_MODEL variable (a Hub id), and
HF_VIDEO_COMPARE, if set, a second one shown beside it (e.g. the per-frame twin)."""

import os

from hf_video.demo import build_demo, example_videos, load

models = [load(name) for name in (os.environ.get("HF_VIDEO_MODEL"), os.environ.get("HF_VIDEO_COMPARE")) if name]
if not models:
    raise SystemExit("Set the Space variable HF_VIDEO_MODEL to a model's Hub id (Settings -> Variables).")
demo = build_demo(models, example_videos("examples"),  # written once, beside the app in a Space
                  max_seconds=float(os.environ.get("HF_VIDEO_MAX_SECONDS", 60)))

if __name__ == "__main__":
    demo.launch()
