"""Label names for converted checkpoints: the known label sets by name, or a JSON file."""

import json
from pathlib import Path

from ..data.hmdb51_labels import HMDB51_CLASSES, HMDB51_CLASSES_ESSMC2_ORDER
from ..data.kinetics_labels import KINETICS400_CLASSES

LABEL_SETS = {
    "kinetics400": lambda: list(KINETICS400_CLASSES),
    "hmdb51": lambda: list(HMDB51_CLASSES),
    "hmdb51-essmc2": lambda: list(HMDB51_CLASSES_ESSMC2_ORDER),
}


def named_label_set(name: str) -> list[str]:
    if name not in LABEL_SETS:
        raise ValueError(f"label set {name!r} is not known; choose one of {', '.join(LABEL_SETS)} or pass an "
                         "--id2label JSON file.")
    return LABEL_SETS[name]()


def read_id2label_file(path) -> list[str]:
    """Label names by id from a JSON object {id: label} or {label: id} (the latter is how Something-Something V2's
    official `labels.json` maps its 174 templates to ids); ids must run 0..n-1."""
    try:
        mapping = json.loads(Path(path).read_text(encoding="utf-8"))
    except (OSError, json.JSONDecodeError) as error:
        raise ValueError(f"{path}: cannot read a JSON label mapping ({error}).") from error
    if not isinstance(mapping, dict) or not mapping:
        raise ValueError(f"{path}: expected a JSON object mapping ids to labels (or labels to ids).")
    ids_first = all(str(key).isdigit() for key in mapping)
    pairs = ((int(key), value) for key, value in mapping.items()) if ids_first else (
        (int(value), key) for key, value in mapping.items() if str(value).isdigit())
    by_id = dict(pairs)
    if len(by_id) != len(mapping) or sorted(by_id) != list(range(len(by_id))):
        raise ValueError(f"{path}: ids must be the integers 0..{len(mapping) - 1}, each once.")
    names = [str(by_id[index]) for index in range(len(by_id))]
    repeated = sorted({name for name in names if names.count(name) > 1})
    if repeated:
        ids = {name: [index for index, other in enumerate(names) if other == name] for name in repeated[:5]}
        raise ValueError(f"{path}: label names must differ (label2id maps each name to one id); repeated: "
                         + ", ".join(f"{name!r} (ids {', '.join(map(str, found))})" for name, found in ids.items()))
    return names
