"""Classes that a horizontal mirror turns into each other: "Pushing something from left to right" seen in a mirror is
"Pushing something from right to left". A training flip of such a clip must carry the other class's label, or the
augmentation teaches the model a lie (the authors swap Something-Something V2's three pairs).

The pairs are derived from the class names, not fixed numbers, so that subsets and other label files work: two
classes pair when one's name with the words "left" and "right" exchanged is the other's name.
"""

import re

from .ssv2_labels import SSV2_CLASSES

_SIDE = re.compile(r"\b(left|right)\b", re.IGNORECASE)
_OTHER_SIDE = {"left": "right", "right": "left"}


def mirrored_name(name: str) -> str:
    """`name` with every whole word "left" and "right" exchanged (keeping its capitals)."""
    def other(match):
        word = _OTHER_SIDE[match.group(0).lower()]
        return word.capitalize() if match.group(0)[0].isupper() else word

    return _SIDE.sub(other, name)


def mirrored_labels(class_names) -> dict:
    """{label: the label of its mirror image} for every class whose mirrored name is another class (both ways);
    classes a mirror leaves alone are not in it."""
    labels = {name: label for label, name in enumerate(class_names)}
    return {label: labels[mirrored_name(name)] for name, label in labels.items()
            if mirrored_name(name) != name and mirrored_name(name) in labels}


def unpaired_mirrored_classes(class_names, known_classes=SSV2_CLASSES) -> list:
    """The classes whose mirror image is a known class (Something-Something V2's) missing from `class_names`: a
    flipped clip of one of them has no label to take."""
    names = set(class_names)
    return [name for name in class_names if mirrored_name(name) != name
            and mirrored_name(name) in known_classes and mirrored_name(name) not in names]
