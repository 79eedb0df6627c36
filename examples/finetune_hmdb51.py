#!/usr/bin/env python
"""Fine-tune a TAda model on HMDB51: `examples/run_video_classification.py`, whose defaults are HMDB51's (the
recipe's dataset). Every option of that script works here; `--dataset ucf101|ssv2|kinetics400` and `--dataset_name`
train on the others.

    accelerate launch examples/finetune_hmdb51.py --data_dir data/hmdb51 --model_name_or_path CHECKPOINT
"""

import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))

from run_video_classification import main  # noqa: E402

if __name__ == "__main__":
    main()
