"""The names of the ways of answering that training compares on held-out kinds: the keys
of `metrics.held_out_kinds` in the contract, which the model card and its targets read."""

HEAD_ALONE = "head alone"
IMAGENET_GATE = "head, 'other' when ImageNet says neither cat nor dog"
FUSED = "head fused with ImageNet"
SHIPPED = FUSED  # what the served model answers with
FROZEN_PREFIX = "frozen backbone: "  # the same ways, with the backbone's top left untuned
FROZEN_HEAD_ALONE, FROZEN_FUSED = FROZEN_PREFIX + HEAD_ALONE, FROZEN_PREFIX + FUSED
