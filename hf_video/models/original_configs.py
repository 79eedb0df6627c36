"""Reading the authors' YAML configurations (TAdaConv repository) and combining what they state with what a
checkpoint's tensor shapes show: what the converters of the TAdaConvV2 families share."""

from pathlib import Path

import yaml

ORIGINAL_BASE_KEYS = ("_BASE", "_BASE_RUN", "_BASE_MODEL")
# `_BASE_` (fvcore's and detectron2's spelling, which users carry over) is read as the authors' `_BASE`.
BASE_KEY_SPELLINGS = {"_BASE_": "_BASE"}
# The authors' DATA.SAMPLING_MODE values, and our processors' names for them.
SAMPLING_MODES = {"interval_based": "interval", "segment_based": "segment"}


def read_original_config(path, _reading: tuple = ()) -> dict:
    """One of the authors' YAML configurations, with the files it names in `_BASE` / `_BASE_RUN` / `_BASE_MODEL`
    (relative to it) merged under it as the authors' code merges them: the file over its run base over its model
    base. Every error names the file (and the chain of files that named it)."""
    path = Path(path)
    chain = " <- ".join(map(str, (path, *reversed(_reading))))
    if path.resolve() in _reading:
        raise ValueError(f"{chain}: the base files name each other in a loop; remove the {path.name} reference.")
    try:
        text = path.read_text(encoding="utf-8")
    except UnicodeDecodeError as error:
        raise ValueError(f"{chain}: not UTF-8 text ({error}); save the YAML configuration as UTF-8.") from error
    except OSError as error:
        raise ValueError(f"{chain}: cannot read the authors' YAML configuration ({error}).") from error
    config = parse_original_config(text, chain)
    merged = {}
    for base_key in ("_BASE", "_BASE_MODEL", "_BASE_RUN"):  # lowest precedence first
        base = config.get(base_key)
        if base is None:
            continue
        if not isinstance(base, str) or not base.strip():
            raise ValueError(f"{chain}: {base_key} is {base!r}; expected one file name, relative to {path.parent} "
                             "(the authors' configs name one base file per key).")
        base_path = path.parent / base
        if not base_path.is_file():
            raise ValueError(f"{chain}: its {base_key} {base} is not at {base_path}; keep the authors' configs folder "
                             "together, or pass a configuration with nothing left to base files.")
        merged = _merged(merged, read_original_config(base_path, (*_reading, path.resolve())))
    return _merged(merged, {key: value for key, value in config.items() if key not in ORIGINAL_BASE_KEYS})


def parse_original_config(text: str, origin: str) -> dict:
    """The mapping a YAML configuration's text holds, its base keys under the authors' names; errors name `origin`
    (a file, or a checkpoint's stored `cfg`) and the line."""
    try:
        config = yaml.safe_load(text)
    except yaml.YAMLError as error:
        raise ValueError(f"{origin}: not valid YAML ({' '.join(str(error).split())}).") from error
    if config is None:
        return {}
    if not isinstance(config, dict):
        raise ValueError(f"{origin}: expected the authors' YAML configuration (a mapping with VIDEO, DATA, ...), got "
                         f"a {type(config).__name__}.")
    for spelling, key in BASE_KEY_SPELLINGS.items():
        if spelling in config:
            if key in config:
                raise ValueError(f"{origin}: both {spelling} and {key} are given; keep one.")
            config[key] = config.pop(spelling)
    unknown = [key for key in config if str(key).startswith("_BASE") and key not in ORIGINAL_BASE_KEYS]
    if unknown:
        raise ValueError(f"{origin}: {', '.join(map(str, unknown))} is not a base key; the authors' are "
                         f"{', '.join(ORIGINAL_BASE_KEYS)} (and {', '.join(BASE_KEY_SPELLINGS)} for _BASE).")
    return config


def _merged(base: dict, override: dict) -> dict:
    result = dict(base)
    for key, value in override.items():
        result[key] = _merged(result[key], value) if isinstance(value, dict) and isinstance(
            result.get(key), dict) else value
    return result


def config_value(config: dict, dotted: str):
    """config["A"]["B"]["C"] for "A.B.C", or None where any level is missing."""
    for name in dotted.split("."):
        if not isinstance(config, dict) or name not in config:
            return None
        config = config[name]
    return config


def plain_value(value):
    """YAML sequences as lists (what our configurations store); PyYAML reads 1e-6 (no dot) as a string."""
    if isinstance(value, (list, tuple)):
        return list(value)
    if isinstance(value, str):
        try:
            return float(value)
        except ValueError:
            return value
    return value


def stated_values(config: dict, keys: dict) -> dict:
    """{our name: value} for each {our name: the authors' dotted key} that `config` states."""
    values = {name: config_value(config, key) for name, key in keys.items()}
    return {name: plain_value(value) for name, value in values.items() if value is not None}


def sampling_mode(config: dict, origin: str) -> dict:
    """{"sample_mode": ...} where the configuration states DATA.SAMPLING_MODE, else {}."""
    mode = config_value(config, "DATA.SAMPLING_MODE")
    if mode is None:
        return {}
    if mode not in SAMPLING_MODES:
        raise ValueError(f"{origin}: DATA.SAMPLING_MODE {mode!r} is neither interval_based nor segment_based.")
    return {"sample_mode": SAMPLING_MODES[mode]}


def stored_config(checkpoint: dict, checkpoint_path="the checkpoint") -> dict | None:
    """The configuration the authors' code stores in a checkpoint (`cfg`, a YAML text), or None."""
    stored = checkpoint.get("cfg")
    if isinstance(stored, str) and stored.strip():
        return parse_original_config(stored, f"{checkpoint_path} (its stored cfg)") or None
    return None


def combined_settings(shapes: dict, defaults: dict, sources: list, config_overrides=None,
                      processor_overrides=None) -> tuple[dict, dict]:
    """(config kwargs, processor kwargs): `defaults`, then each of `sources` ((origin, (model facts, processor
    facts)), lowest precedence first), then the overrides, then the shapes. A source or an override that contradicts
    what the shapes show is an error naming it."""
    model, processor = dict(defaults), {}
    for origin, (model_facts, processor_facts) in sources:
        for name, value in model_facts.items():
            if name in shapes and value != shapes[name]:
                raise ValueError(f"{origin} gives {name}={value!r}, but the checkpoint's tensors show "
                                 f"{shapes[name]!r}: the configuration is not this checkpoint's.")
        model.update({name: value for name, value in model_facts.items() if name not in shapes})
        processor.update(processor_facts)
    for name, value in (config_overrides or {}).items():
        if name in shapes and value != shapes[name]:
            raise ValueError(f"{name}={value!r} was asked for, but the checkpoint's tensors show {shapes[name]!r}: "
                             "a converted model cannot change it.")
    model.update(config_overrides or {})
    processor.update(processor_overrides or {})
    return {**model, **shapes}, processor
