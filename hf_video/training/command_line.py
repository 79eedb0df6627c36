"""What a training script does with its command line before any work: options parsed (also from one JSON or YAML
file of them), a user's mistake ended in one line that says what to do, the Hub checked before a run that would push,
and loader settings that do not warn on a CPU."""

import dataclasses
import sys

import torch

from ..data.export import ExportError
from ..data.video_builder import VideoDataError


class UsageError(SystemExit):
    """A mistake in the options or the data: ends the run with one line that says what to do, no traceback."""


# Errors that come from what the user gave (data, exports), not from a fault of ours: their message is the report.
USER_MISTAKES = (VideoDataError, ExportError)


def parse_script_arguments(dataclass_types: tuple, argv=None) -> tuple:
    """One instance of each of `dataclass_types` (the last a TrainingArguments) from the command line, or from one
    JSON or YAML file of options. TrainingArguments' own checks of option combinations end as a UsageError."""
    from transformers import HfArgumentParser

    # A short usage line: argparse prints it before each error, and the full one lists every TrainingArguments option.
    parser = HfArgumentParser(dataclass_types, usage="%(prog)s [options]  (--help lists them)")
    argv = sys.argv[1:] if argv is None else list(argv)
    if len(argv) == 1 and argv[0].endswith((".json", ".yaml", ".yml")):
        argv = options_file_as_command_line(argv[0])  # parsed as typed: the same types, choices and messages
    given = vars(parser.parse_known_args(argv)[0])
    try:
        *others, training_arguments = parser.parse_args_into_dataclasses(args=argv)
    except ValueError as error:
        raise UsageError(f"error: {error}") from None
    # TrainingArguments turns do_eval back on whenever eval_strategy is set: honour an explicit --do_eval False.
    if str(given.get("do_eval")).lower() in ("false", "0", "no"):
        training_arguments = dataclasses.replace(training_arguments, eval_strategy="no", do_eval=False)
    return (*others, training_arguments)


def options_file_as_command_line(path: str) -> list[str]:
    """`--name value` for every entry of a JSON or YAML mapping (lists give several values; null leaves it out)."""
    import yaml

    with open(path, encoding="utf-8") as file:
        options = yaml.safe_load(file)  # JSON is YAML too
    if not isinstance(options, dict):
        raise SystemExit(f"{path}: expected a mapping of option names to values, such as {{\"num_frames\": 16}}.")
    argv = []
    for name, value in options.items():
        if value is not None:
            argv += [f"--{name}", *map(str, value if isinstance(value, list) else [value])]
    return argv


def check_positive(**counts) -> None:
    """Counts that must be positive (None: not given), checked before anything runs: a 0 would train, save, then
    fail."""
    problems = [f"--{name} {value}: expected a positive number" for name, value in counts.items()
                if value is not None and value < 1]
    if problems:
        raise UsageError("; ".join(problems) + ".")


def check_hub_access(training_arguments) -> None:
    """Fail at start-up, not after training, when the model cannot be pushed."""
    if not training_arguments.push_to_hub:
        return
    from huggingface_hub import HfApi, get_token, is_offline_mode

    problem = None
    if not training_arguments.hub_model_id:
        problem = "give --hub_model_id (e.g. your-name/tada-r50-hmdb51)"
    elif is_offline_mode():
        problem = "the Hub is switched off here (HF_HUB_OFFLINE is set): unset it or drop --push_to_hub"
    elif get_token() is None and not training_arguments.hub_token:
        problem = "no Hugging Face token: run `hf auth login`, set HF_TOKEN, or pass --hub_token"
    else:
        try:
            HfApi(token=training_arguments.hub_token).whoami()
        except Exception as error:  # any network or authentication failure means the push would fail
            problem = f"the Hub cannot be reached or the token is refused ({error})"
    if problem:
        raise SystemExit(f"--push_to_hub: {problem}. Nothing was trained.")


def quiet_loader_settings(training_arguments):
    """No pinned memory without an accelerator to copy to (PyTorch warns once per worker and epoch otherwise), and
    loader workers kept across epochs rather than started again for each."""
    changes = {}
    if training_arguments.dataloader_pin_memory and not torch.cuda.is_available():
        changes["dataloader_pin_memory"] = False
    if training_arguments.dataloader_num_workers > 0 and not training_arguments.dataloader_persistent_workers:
        changes["dataloader_persistent_workers"] = True
    return dataclasses.replace(training_arguments, **changes) if changes else training_arguments
