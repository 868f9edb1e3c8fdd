"""Every training default in one place, overridable from the command line.

    python -m training.train --model=simple-cnn --finetune_epochs=0

Unknown keys and values of the wrong type are rejected, so a typo never
trains the wrong model silently.
"""

from __future__ import annotations

import argparse
import dataclasses
from dataclasses import dataclass, field
from pathlib import Path


# The data sets, read where they are (../shared/datasets beside the repository), never copied in.
DATASETS = Path(__file__).resolve().parent.parent.parent / "shared" / "datasets"


@dataclass
class TrainConfig:
    # data
    pets: list[str] = field(default_factory=lambda: [str(DATASETS / "dogs-vs-cats" / "train")])  # Kaggle flat or PetImages folders
    others: list[str] = field(default_factory=lambda: [str(DATASETS / name) for name in ("not-pets", "everyday", "animals")])  # "neither" photos
    limit_per_class: int = 0  # 0 = all; a few dozen for smoke tests
    label_audit: bool = True  # leave out the photos whose label training/label_audit.csv finds wrong
    input_size: int = 260  # pixels, square: Lite2's ImageNet resolution
    workers: int = 2  # decoding processes / TF threads
    # model
    model: str = "efficientnet-lite2"  # efficientnet-lite0 | efficientnet-lite2 | simple-cnn
    pretrained: bool = True  # start from ImageNet weights (EfficientNet-Lite only)
    dropout: float = 0.5  # before the classification head
    mirror_average: bool = False  # the served model averages each photo with its mirror image (2x compute)
    # stage 1: linear head on frozen backbone features of views of each photo (training/head.py)
    head_epochs: int = 30
    head_learning_rate: float = 1e-3
    head_mirrored: bool = True  # also train the head on features of the mirrored photos
    head_augmented_copies: int = 2  # features of this many randomly augmented copies of each photo, too
    head_folds: int = 5  # K: score by K-fold CV over train+val, refit on both; 0: fit on train, early-stop on val
    # stage 1b: the top of the backbone fine-tuned on cached activations of the same views (training/top.py)
    tune_blocks: int = 1  # the backbone's last N blocks and its last 1x1 convolution are tuned; 0 keeps it frozen
    tune_epochs: int = 3  # passes over the photos, each time one random view of each
    tune_learning_rate: float = 3e-4  # Adam, cosine decay to 0
    tune_hard_weight: float = 0.0  # photos the linear head finds hard are drawn up to 1 + this many times as often; 0 draws each once
    imagenet_fusion: bool = True  # combine the head with the backbone's ImageNet classifier (training/fusion.py)
    # stage 2: fine-tuning on augmented batches (rotation, zoom, flip, shift, contrast)
    finetune_epochs: int = 0  # 0 skips it: the shipped recipe tunes the top instead (tune_blocks)
    finetune_from_block: int = 15  # blocks below stay frozen (CPU time); BatchNorm stays frozen
    finetune_learning_rate: float = 1e-4
    steps_per_epoch: int = 0  # 0 = one pass over the training split
    batch_size: int = 32
    label_smoothing: float = 0.05
    other_loss_weight: float = 1.0  # stage 2: an "other" photo's weight in the loss; below 1, fewer pets are called "other"
    # simple-cnn (trained from scratch, all in stage 2)
    scratch_epochs: int = 30  # `make train-baseline`'s time budget ends it sooner on slower CPUs
    scratch_learning_rate: float = 1e-3
    time_budget_minutes: float = 0  # stop stage 2 after this long (0 = no limit)
    # output
    run_dir: str = "var/runs/latest"  # checkpoints, log, learning curves, model
    cache_dir: str = "var/cache"  # decoded image arrays, reused across runs
    seed: int = 1337

    def __post_init__(self):
        if self.head_folds == 1 or self.head_folds < 0:
            raise ValueError(f"head_folds must be 0 or at least 2, got {self.head_folds}")
        if self.other_loss_weight <= 0:
            raise ValueError(f"other_loss_weight must be above 0, got {self.other_loss_weight}")
        if self.other_loss_weight != 1 and not (self.model == "simple-cnn" or self.finetune_epochs):
            raise ValueError("other_loss_weight weighs the loss of stage 2 only (training from scratch or "
                             "--finetune_epochs), which this recipe skips")
        if self.tune_hard_weight < 0:
            raise ValueError(f"tune_hard_weight must be 0 or more, got {self.tune_hard_weight}")
        if self.head_folds and self.finetune_epochs and self.model != "simple-cnn":
            raise ValueError("head_folds fits the head on the val split too, which fine-tuning "
                             "and its calibration need held out: add --head_folds=0 to fine-tune")

    @property
    def tune_from_block(self) -> int:
        """The first tuned block of the backbone, or 0 when nothing is tuned (or nothing pretrained to tune)."""
        if not self.tune_blocks or self.model == "simple-cnn":
            return 0
        from training.models.efficientnet_lite import LITE_SIZES, block_specs

        return len(block_specs(LITE_SIZES[self.model])) - self.tune_blocks

    @classmethod
    def from_args(cls, argv: list[str] | None = None) -> "TrainConfig":
        parser = argparse.ArgumentParser(description="Train the cat / dog / other classifier.")
        for f in dataclasses.fields(cls):
            default = f.default_factory() if f.default_factory is not dataclasses.MISSING else f.default
            if isinstance(default, bool):
                parser.add_argument(f"--{f.name}", type=_parse_bool, default=default)
            elif isinstance(default, list):
                parser.add_argument(f"--{f.name}", nargs="+", default=default)
            else:
                parser.add_argument(f"--{f.name}", type=type(default), default=default)
        return cls(**vars(parser.parse_args(argv)))


def _parse_bool(text: str) -> bool:
    if text.lower() in ("1", "true", "yes", "on"):
        return True
    if text.lower() in ("0", "false", "no", "off"):
        return False
    raise argparse.ArgumentTypeError(f"expected true or false, got {text!r}")
