"""The optional parts of hf_video and the extras that install them: the core (`pip install tada-video`) runs the models,
their video processor and the pipeline; `[data]` the datasets builders and exports; `[train]` fine-tuning; `[demo]`
the demo page.

    require("data", "datasets", "rarfile")   # at the top of a module of that part

raises an ImportError that names the extra to install, instead of the bare "No module named ..." of the first
import that fails.
"""

import importlib.util

DISTRIBUTION = "tada-video"
EXTRA_PARTS = {"data": "the datasets builders and exports (hf_video.data)",
               "train": "fine-tuning (hf_video.training, examples/run_video_classification.py)",
               "demo": "the demo page (hf_video.demo)"}


def require(extra: str, *modules: str) -> None:
    """Raise ImportError naming `pip install 'tada-video[<extra>]'` if one of `modules` is not installed."""
    missing = [module for module in modules if importlib.util.find_spec(module) is None]
    if missing:
        raise ImportError(f"{EXTRA_PARTS[extra]} needs {', '.join(missing)}, which the core install leaves out: "
                          f"pip install '{DISTRIBUTION}[{extra}]'")
