"""Stopping a fine-tuning run cleanly on SIGTERM (a cluster pre-empting the job, `kill`, a launcher being stopped):
the Trainer finishes its step, saves a checkpoint and the run ends, to be resumed with `--resume_from_checkpoint
True`. Every process stops at the same step. Outside the training loop, SIGTERM ends the process at once.

Launchers do not all pass SIGTERM on: `accelerate launch` with one process dies and leaves its training process
running (an orphan that goes on writing into the output folder). Under a launcher, `stop_with_launcher` has the
kernel send the training process SIGTERM when its launcher dies.
"""

import ctypes
import logging
import os
import signal
import sys

import torch
from transformers import TrainerCallback

logger = logging.getLogger(__name__)

_PR_SET_PDEATHSIG = 1  # prctl option: the signal this process gets when its parent dies (Linux)


class StopOnTermination(TrainerCallback):
    """A Trainer callback that turns SIGTERM into "save a checkpoint and stop" at the end of the current step.
    `install()` takes over SIGTERM (from the main thread); `stopped_at` is the step it stopped at, or None."""

    def __init__(self):
        self.requested = False
        self.in_training = False
        self.stopped_at = None

    def install(self) -> "StopOnTermination":
        signal.signal(signal.SIGTERM, self._on_signal)
        return self

    def _on_signal(self, signum, frame):
        if not self.in_training:
            raise SystemExit(128 + signum)  # nothing to save: end now, as the default action would
        if not self.requested:
            logger.warning("SIGTERM: saving a checkpoint at the end of this step, then stopping.")
        self.requested = True

    def on_train_begin(self, args, state, control, **kwargs):
        self.in_training = True

    def on_train_end(self, args, state, control, **kwargs):
        self.in_training = False

    def on_step_end(self, args, state, control, **kwargs):
        if _requested_anywhere(self.requested, args.device, state.global_step):
            control.should_save = True
            control.should_training_stop = True
            self.stopped_at = state.global_step
        return control


# Across processes the flag is compared every this many steps: each comparison waits for the accelerator, which a
# training step should not do every time; a stop within a few steps of the signal is soon enough.
STEPS_BETWEEN_CHECKS = 10


def _requested_anywhere(requested: bool, device, step: int) -> bool:
    """Whether any process got SIGTERM: all of them must stop at the same step, or the others would wait forever in
    their next collective operation (so they compare at the same steps)."""
    if not (torch.distributed.is_available() and torch.distributed.is_initialized()):
        return requested
    if step % STEPS_BETWEEN_CHECKS:
        return False
    flag = torch.tensor([int(requested)], device=device)
    torch.distributed.all_reduce(flag, op=torch.distributed.ReduceOp.MAX)
    return bool(flag.item())


def launched_by_a_launcher() -> bool:
    """Whether `accelerate launch` or torchrun started this process (they set these variables)."""
    return "ACCELERATE_USE_CPU" in os.environ or "TORCHELASTIC_RUN_ID" in os.environ


def stop_with_launcher() -> bool:
    """Under a launcher, on Linux: SIGTERM to this process when the launcher dies. Returns whether it was set."""
    if not sys.platform.startswith("linux") or not launched_by_a_launcher():
        return False
    parent = os.getppid()
    libc = ctypes.CDLL(None, use_errno=True)
    if libc.prctl(_PR_SET_PDEATHSIG, signal.SIGTERM, 0, 0, 0) != 0:
        return False
    if os.getppid() != parent:  # the launcher died before the request was in place
        os.kill(os.getpid(), signal.SIGTERM)
    return True
