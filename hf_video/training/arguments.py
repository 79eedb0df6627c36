"""`TrainingArguments` with the original recipe's defaults (EssentialMC2's HMDB51 fine-tune) where transformers' differ.

A real class in an importable module: the Trainer pickles its arguments into every checkpoint (training_args.bin).
"""

import dataclasses

from transformers import TrainingArguments

RECIPE_TRAINING_DEFAULTS = dict(
    output_dir="outputs/tada_hmdb51",
    # The recipe's SGD(lr=0.001, weight_decay=0.001) sets no momentum: torch's default, 0. (optim_args="momentum=0.9"
    # gives the usual 0.9.)
    optim="sgd",
    learning_rate=0.001,
    weight_decay=0.001,
    lr_scheduler_type="cosine",  # to 0 at the end
    num_train_epochs=100.0,
    logging_steps=10.0,
    eval_strategy="epoch",
    save_strategy="epoch",
    report_to="tensorboard",
    remove_unused_columns=False,  # the transform reads the video path and metadata columns
    ddp_find_unused_parameters=False,
    dataloader_num_workers=8,
    per_device_train_batch_size=8,
    per_device_eval_batch_size=8,
    # What a run does, unless told otherwise: train (evaluating every epoch), then evaluate every test video on its
    # views and write their predictions.
    do_train=True,
    do_eval=True,
    do_predict=True,
)

_PARENT_FIELDS = {parent_field.name: parent_field for parent_field in dataclasses.fields(TrainingArguments)}
# --help says where a default is the recipe's choice rather than the usual one.
_RECIPE_NOTES = {"optim": "The recipe's SGD sets no momentum (torch's default, 0); --optim_args momentum=0.9 gives the "
                          "usual 0.9."}


def _recipe_field(name: str, value) -> dataclasses.Field:
    metadata = dict(_PARENT_FIELDS[name].metadata)
    if name in _RECIPE_NOTES:
        metadata["help"] = f"{metadata.get('help', '')} {_RECIPE_NOTES[name]}".strip()
    return dataclasses.field(default=value, metadata=metadata)


# Same fields, types and help as TrainingArguments; only the defaults differ (so --help shows ours). One field of
# transformers' run_*.py scripts that TrainingArguments 5 no longer has joins them.
VideoTrainingArguments = dataclasses.make_dataclass(
    "VideoTrainingArguments",
    [(name, _PARENT_FIELDS[name].type, _recipe_field(name, value)) for name, value in RECIPE_TRAINING_DEFAULTS.items()]
    + [("overwrite_output_dir", bool, dataclasses.field(default=False, metadata={"help": (
        "Start afresh in an output_dir that holds an earlier run: its checkpoints are removed. Without it, such a "
        "folder is resumed from its last complete checkpoint, and a folder holding other files is refused.")})),
       ("learning_rate_multipliers", str | None, dataclasses.field(default=None, metadata={"help": (
        "Learning-rate factors by parameter name, NAME=FACTOR,...: parameters whose names contain NAME train at "
        "FACTOR x the rate (the first NAME that matches wins). The authors' TAdaConvNeXtV2 fine-tune: "
        "classifier=10,route=10,temporal_pool_layernorm=10; TAdaFormer's: classifier=10,.tada=10 (the TAda blocks, "
        "not every name under tadaformer.).")}))],
    bases=(TrainingArguments,),
)
VideoTrainingArguments.__module__ = __name__
VideoTrainingArguments.__doc__ = "TrainingArguments with the original recipe's defaults: " + ", ".join(
    f"{name}={value!r}" for name, value in RECIPE_TRAINING_DEFAULTS.items()) + "."
