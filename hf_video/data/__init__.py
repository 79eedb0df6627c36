"""Data: HMDB51 labels (and, as they land, the datasets builder, decoders, samplers and transforms).

Nothing here imports a video decoder at import time: decoders are imported where a video is opened.
"""
