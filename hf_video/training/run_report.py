"""What a fine-tuning run tells: its start line (model, data, steps, where results go) and, at the end, the
per-video predictions and the model card beside the final weights."""

import json
import math
import os
from pathlib import Path

from ..cards import family_of, finetuned_model_card


def run_summary(model, arguments, kind, data_source: str, num_train: int | None, num_eval: int,
                split: int | None = None) -> str:
    """The start line. `num_train` None: a streamed training split, of unknown length."""
    world = arguments.world_size
    batch = arguments.per_device_train_batch_size * world * arguments.gradient_accumulation_steps
    if num_train is None:
        steps, per_epoch, clips = arguments.max_steps, "streamed", "streamed training clips"
    else:
        steps_per_epoch = math.ceil(num_train / batch)
        steps = arguments.max_steps if arguments.max_steps > 0 else math.ceil(steps_per_epoch *
                                                                              arguments.num_train_epochs)
        per_epoch, clips = f"{steps_per_epoch} per epoch", f"{num_train} training clips"
    config = model.config
    what = (f"{steps} steps ({per_epoch}) on {world} process(es) x batch "
            f"{arguments.per_device_train_batch_size}; checkpoints in {arguments.output_dir}"
            if arguments.do_train else f"no training (--do_train False); results in {arguments.output_dir}")
    where = data_source if split is None else f"{data_source}, split {split}"
    return (f"{'Fine-tuning' if arguments.do_train else 'Evaluating'} {family_of(config).architecture(config)} "
            f"(temporal_adaptive={config.temporal_adaptive}, {sum(p.numel() for p in model.parameters()):,} "
            f"parameters) on {kind.name} ({where}): {clips}, {num_eval} {kind.eval_split} videos; {what}; "
            f"{trackers(arguments)}.")


def trackers(arguments) -> str:
    """Where the run's metrics are logged, as the Trainer's callbacks will do it."""
    used = [name for name in arguments.report_to if name != "none"]
    if not used:
        return "no experiment tracker (--report_to none)"
    # Where transformers' TensorBoard callback writes (5.x has no logging_dir argument).
    tensorboard_dir = os.getenv("TENSORBOARD_LOGGING_DIR") or os.path.join(arguments.output_dir, "runs")
    return "logs to " + ", ".join(f"TensorBoard in {tensorboard_dir}" if name == "tensorboard" else name
                                  for name in used)


def write_predictions(output_dir, predictions: list, split: str) -> None:
    """One JSON line per evaluated video: `<split>_predictions.jsonl`."""
    with open(Path(output_dir) / f"{split}_predictions.jsonl", "w", encoding="utf-8") as file:
        file.writelines(json.dumps(row) + "\n" for row in predictions)


def optimizer_description(trainer) -> tuple[str, str]:
    """(the optimizer's name and its own hyperparameters as it ran, e.g. "sgd (momentum 0, ...)"; the weight decay
    its parameter groups applied)."""
    optimizer = getattr(trainer.optimizer, "optimizer", trainer.optimizer)  # accelerate wraps it
    own = {name: value for name, value in optimizer.defaults.items()
           if name in ("momentum", "dampening", "nesterov", "betas", "eps", "alpha")}
    settings = ", ".join(f"{name} {value}" for name, value in own.items())
    # The Trainer sets weight decay per parameter group (none for biases), not in the optimizer's defaults.
    decays = sorted({group["weight_decay"] for group in optimizer.param_groups})
    decay = f"{decays[-1]:g}" + (" (biases: 0)" if len(decays) > 1 else "")
    return f"{plain_value(trainer.args.optim)} ({settings})", decay


def plain_value(value):
    """An option's plain value (enums such as OptimizerNames.SGD as "sgd")."""
    return getattr(value, "value", value)


def write_run_outputs(trainer, eval_settings, predictions, results, kind, base_model, data_recipe: dict) -> None:
    """Next to the final weights and their video processor: per-video predictions on the evaluation split and our
    model card (which the Trainer's final push writes itself, when there is one). `data_recipe`: the data settings
    to list on the card beside the clip's and the optimizer's (name -> value)."""
    arguments = trainer.args
    output_dir = Path(arguments.output_dir)
    if predictions is not None:
        write_predictions(output_dir, predictions, kind.eval_split)
    state = trainer.state
    optimizer, weight_decay = optimizer_description(trainer)
    recipe = {"frames x interval": f"{eval_settings.num_frames} x {eval_settings.sample_interval} "
                                   f"({eval_settings.sample_mode}, {eval_settings.target_fps:g} fps)",
              "image size": eval_settings.image_size, "flip probability": eval_settings.flip_probability,
              "optimizer": optimizer, "learning rate": arguments.learning_rate,
              "weight decay": weight_decay, "schedule": plain_value(arguments.lr_scheduler_type),
              "trained": f"{state.global_step} steps, {state.epoch:.3g} epochs",
              "batch per device": arguments.per_device_train_batch_size, "processes": arguments.world_size,
              "precision": "bf16" if arguments.bf16 else "fp16" if arguments.fp16 else "fp32", **data_recipe}
    model_name = arguments.hub_model_id or output_dir.name
    trainer.model_card = finetuned_model_card(model_name, trainer.model.config, kind.name, kind.key, base_model, recipe,
                                              results, kind.eval_split)
    if not arguments.push_to_hub:
        trainer.create_model_card()
