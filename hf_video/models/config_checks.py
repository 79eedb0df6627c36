"""Checks of configuration values that every TAda model family's configuration makes, each failing with a message
that names the value and says what is expected. Pure Python: each model folder holds it as a link to this one file,
so that saved folders (remote code) carry it beside their configuration file."""


def check_choice(name, value, allowed):
    if isinstance(value, bool) or value not in allowed:
        raise ValueError(f"{name}={value!r} is not supported; allowed values: {', '.join(map(str, allowed))}.")


def check_positive_int(name, value):
    if isinstance(value, bool) or not isinstance(value, int) or value < 1:
        raise ValueError(f"{name}={value!r}: expected a positive integer.")


def check_odd(name, value):
    if isinstance(value, bool) or not isinstance(value, int) or value < 1 or value % 2 == 0:
        raise ValueError(f"{name}={value!r}: expected an odd positive integer (1, 3, 5, ...) so the output keeps "
                         f"the input's size.")


def check_probability(name, value):
    if isinstance(value, bool) or not isinstance(value, (int, float)) or not 0 <= value < 1:
        raise ValueError(f"{name}={value!r}: expected a probability in [0, 1).")


def check_positive_number(name, value, example):
    if isinstance(value, bool) or not isinstance(value, (int, float)) or not value > 0:
        raise ValueError(f"{name}={value!r}: expected a positive number such as {example}.")


def check_num_labels(kwargs: dict) -> None:
    """transformers takes any `num_labels` and builds `range(num_labels)` labels: a negative count would leave no
    classes and a model whose logits are its features, unnoticed."""
    value = kwargs.get("num_labels")
    if value is not None and (isinstance(value, bool) or not isinstance(value, int) or value < 0):
        raise ValueError(f"num_labels={value!r}: expected the number of classes, a whole number (0 for a model that "
                         "returns its features).")
