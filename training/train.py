"""Train the cat / dog / other classifier, top to bottom:

    data -> backbone (+ ImageNet weights) -> head on frozen features (training/head.py)
         -> fine-tuning on augmented batches -> fusion with the backbone's ImageNet
         classifier (training/fusion.py) -> temperature calibration
         -> test-split evaluation -> export model + its contract

    python -m training.train                          # the shipped recipe: Lite2 at 260 px, head by 5-fold CV
    python -m training.train --model=efficientnet-lite0 --input_size=224 --head_folds=0 --finetune_epochs=2 --finetune_from_block=8
    python -m training.train --model=simple-cnn --run_dir=var/runs/simple-cnn

Everything lands in --run_dir: train.log, history.csv (learning curves),
checkpoints, model.keras (the export graph) and contract.json (class names,
preprocessing, temperature, metrics, timings). Rerunning the same command
resumes: finished stages are loaded, an interrupted fine-tuning continues
from its last backup.
"""

from __future__ import annotations

import contextlib
import dataclasses
import json
import logging
import math
import os
import platform
import time
from datetime import datetime, timezone
from pathlib import Path

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")

import keras  # noqa: E402
import numpy as np  # noqa: E402
import tensorflow as tf  # noqa: E402

from app.inference.contract import INPUT_NAME, Contract, ImageNetFusion, ModelInput, TrainingData  # noqa: E402
from app.inference.decision import OTHER, decide  # noqa: E402
from app.inference.measured import KindFigures, Metrics, PairedFigures  # noqa: E402
from training import metrics, recipes  # noqa: E402
from training.augment import make_augmenter  # noqa: E402
from training.bulk_predict import BulkPredictor  # noqa: E402
from training.cache import SPLIT_RULE, CachedData, build_cache  # noqa: E402
from training.config import TrainConfig  # noqa: E402
from training.data import CLASS_NAMES, Example, find_other_examples, find_pet_examples  # noqa: E402
from training.fusion import (IMAGENET_CATS, IMAGENET_DOGS, Fusion, fit_fusion, imagenet_class_names,  # noqa: E402
                             imagenet_gate, nested_fusion_logits)
from training.head import HeldOut, cross_validation_folds, train_head  # noqa: E402
from training.heap import keep_freed_memory  # noqa: E402
from training.label_audit import read_audit, without_mislabelled  # noqa: E402
from training.models import efficientnet_lite, simple_cnn  # noqa: E402
from training.models.classifier import make_classifier, make_export_model, make_logits_and_map  # noqa: E402
from training.run_files import RunFiles  # noqa: E402
from training.top import tune_top  # noqa: E402
from training.torch_weights import load_state_dict  # noqa: E402

log = logging.getLogger("training")
PREPROCESSING = ("decode (EXIF orientation applied, alpha composited on white) -> RGB -> "
                 "squash to {size}x{size} (INTER_AREA when shrinking, bilinear when enlarging) -> "
                 "float32 0..255 NHWC; normalisation is inside the graph")


def main(argv: list[str] | None = None) -> Contract:
    config = TrainConfig.from_args(argv)
    keep_freed_memory()  # before the first training step: steps otherwise pay page faults (training/heap.py)
    run_dir = Path(config.run_dir)
    run_dir.mkdir(parents=True, exist_ok=True)
    _setup_logging(RunFiles(run_dir).log)
    _setup_tensorflow(config)
    log.info("config: %s", json.dumps(dataclasses.asdict(config)))
    timings: dict[str, float] = {}

    with _stage("data", timings):
        data, mislabelled = load_data(config)
    # where this run's photos are on this machine, for later steps (int8 calibration); not published
    RunFiles(run_dir).data.write_text(json.dumps({"cache": str(Path(config.cache_dir).resolve() / data.key)}))
    classifier, imagenet = build_classifier(config)

    held_out, held_out_name, frozen_held_out, untuned = None, "val", None, None
    if config.model != "simple-cnn":
        with _stage("head", timings):
            held_out = train_head(classifier, data, config, run_dir, imagenet)  # out-of-fold scores or None
            held_out_name = "val" if held_out is None else "cv"
        if config.tune_from_block:
            with _stage("tune", timings):
                untuned, tuned_held_out = tune_top(classifier, data, config, run_dir, held_out)
            frozen_held_out, held_out = held_out, tuned_held_out
    with _stage("fit", timings):
        fit_on_augmented_batches(classifier, data, config, run_dir)

    with _stage("calibrate", timings):
        # what the app will run, converted once for calibration and test
        scorer = BulkPredictor(make_logits_and_map(classifier, config.mirror_average, imagenet, untuned),
                               threads=config.workers)
        if held_out is None:
            held_out = score_val_split(scorer, data, config)
        fusion, held_out_logits = fuse(held_out, imagenet)
        temperature = metrics.fit_temperature(held_out_logits, held_out.labels)
        log.info("temperature %.3f", temperature)
    with _stage("evaluate", timings):
        results = evaluate(scorer, fusion, data, temperature, run_dir, (held_out_logits, held_out.labels),
                           held_out_name)
        results.held_out_kinds = compare_on_held_out_kinds(held_out, held_out_logits, temperature, run_dir)
        if frozen_held_out is not None:
            results.tuned_against_frozen = compare_tuned_with_frozen(
                held_out, held_out_logits, frozen_held_out, imagenet, results.held_out_kinds)

    export = make_export_model(classifier, temperature, config.mirror_average, fusion, untuned)
    export.save(RunFiles(run_dir).model)
    contract = make_contract(config, data, temperature, results, timings, fusion, len(mislabelled))
    contract.write_json(RunFiles(run_dir).contract)
    log.info("test: %s", _as_json({k: v for k, v in dataclasses.asdict(results.test).items() if k != "per_class"}))
    return contract


# --- data ----------------------------------------------------------------------

def load_data(config: TrainConfig) -> tuple[CachedData, list[Example]]:
    """The cached photos, and the photos left out because their label is wrong (training/label_audit.py)."""
    examples = []
    for folder in config.pets:
        examples += find_pet_examples(Path(folder))
    for folder in config.others:
        examples += find_other_examples(Path(folder))
    if config.limit_per_class:
        examples = _limit_per_class(examples, config.limit_per_class)
    mislabelled = []
    if config.label_audit:
        examples, mislabelled = without_mislabelled(examples, read_audit())
        log.info("left out %d photos whose label is wrong (training/label_audit.csv)", len(mislabelled))
    data = build_cache(examples, Path(config.cache_dir), config.input_size, workers=config.workers)
    for split in ("train", "val", "test"):
        counts = np.bincount(data.labels_of(split), minlength=len(CLASS_NAMES))
        log.info("%s: %s", split, dict(zip(CLASS_NAMES, counts.tolist())))
    if data.skipped:
        log.info("skipped %d unreadable files, e.g. %s", len(data.skipped), data.skipped[:3])
    return data, mislabelled


def _limit_per_class(examples, limit: int):
    kept, seen = [], {}
    for example in examples:
        seen[example.label] = seen.get(example.label, 0) + 1
        if seen[example.label] <= limit:
            kept.append(example)
    return kept


# --- model ---------------------------------------------------------------------

def build_classifier(config: TrainConfig) -> tuple[keras.Model, tuple[np.ndarray, np.ndarray] | None]:
    """The classifier, and the backbone's ImageNet classifier (kernel, bias) if it is to be fused."""
    imagenet = None
    if config.model == "simple-cnn":
        backbone = simple_cnn.make_backbone(config.input_size)
    else:
        backbone = efficientnet_lite.make_backbone(config.model, config.input_size)
        if config.pretrained:
            state = load_state_dict(efficientnet_lite.weights_file(config.model))
            copied = efficientnet_lite.port_weights(backbone, state)
            log.info("ported %d ImageNet tensors into %s", copied, config.model)
            imagenet = efficientnet_lite.imagenet_head(state) if config.imagenet_fusion else None
    return make_classifier(backbone, len(CLASS_NAMES), config.dropout), imagenet


# --- stage 2: fine-tuning (or training from scratch) on augmented batches ------

def fit_on_augmented_batches(classifier: keras.Model, data: CachedData, config: TrainConfig,
                             run_dir: Path) -> None:
    scratch = config.model == "simple-cnn"
    epochs = config.scratch_epochs if scratch else config.finetune_epochs
    if epochs == 0:
        return
    if not scratch:
        _freeze_below(classifier, config.finetune_from_block)
    train_images, train_labels = data.subset("train")
    val_images, val_labels = data.subset("val")
    steps = config.steps_per_epoch or len(train_labels) // config.batch_size
    peak = config.scratch_learning_rate if scratch else config.finetune_learning_rate
    budget = _TimeBudget(config.time_budget_minutes * 60, peak, epochs * steps) if config.time_budget_minutes else None
    # With a time budget the cosine runs over the budget or the steps, whichever ends first,
    # so whatever the machine's speed the run ends annealed, not halfway down the schedule.
    learning_rate = peak if budget else keras.optimizers.schedules.CosineDecay(peak, decay_steps=epochs * steps)
    classifier.compile(keras.optimizers.Adam(learning_rate),
                       keras.losses.CategoricalCrossentropy(from_logits=True, label_smoothing=config.label_smoothing),
                       metrics=["accuracy"])
    callbacks = [
        keras.callbacks.BackupAndRestore(str(run_dir / "backup")),  # resume after an interruption
        keras.callbacks.ModelCheckpoint(run_dir / "checkpoint.weights.h5", save_weights_only=True),
        keras.callbacks.CSVLogger(run_dir / "history.csv", append=True),
    ]
    if budget:
        callbacks.append(budget)
    classifier.fit(
        augmented_batches(train_images, train_labels, config), class_weight=class_weights(config),
        steps_per_epoch=steps, epochs=epochs, verbose=2, callbacks=callbacks,
        validation_data=(val_images.astype(np.float32), keras.utils.to_categorical(val_labels, len(CLASS_NAMES))),
        validation_batch_size=64,
    )


def _freeze_below(classifier: keras.Model, first_block: int) -> None:
    """Train only blocks >= first_block and the head; BatchNorm statistics stay frozen."""
    for layer in classifier.layers:
        trainable = True
        if layer.name.startswith("stem") or layer.name == "normalise":
            trainable = False
        elif layer.name.startswith("block"):
            trainable = int(layer.name[len("block"):].split("_")[0]) >= first_block
        if isinstance(layer, keras.layers.BatchNormalization):
            trainable = False
        layer.trainable = trainable


def augmented_batches(images: np.ndarray, labels: np.ndarray, config: TrainConfig) -> tf.data.Dataset:
    """Shuffled batches read from the memory map, augmented on one TensorFlow thread."""
    rng = np.random.default_rng(config.seed)
    size, batch = images.shape[1], config.batch_size

    def batches():
        while True:
            order = rng.permutation(len(labels))
            for start in range(0, len(order) - batch + 1, batch):
                rows = np.sort(order[start:start + batch])  # sorted reads are faster on a memmap
                yield images[rows], labels[rows]

    augmenter = make_augmenter(config.seed)
    dataset = tf.data.Dataset.from_generator(batches, output_signature=(
        tf.TensorSpec((batch, size, size, 3), tf.uint8), tf.TensorSpec((batch,), tf.int64)))
    # One thread augments a batch faster than a step trains on it; more threads would take
    # the cores the training step runs on.
    options = tf.data.Options()
    options.threading.private_threadpool_size = 1
    return dataset.map(
        lambda x, y: (augmenter(tf.cast(x, tf.float32), training=True), tf.one_hot(y, len(CLASS_NAMES))),
        num_parallel_calls=1).prefetch(2).with_options(options)


def class_weights(config: TrainConfig) -> dict[int, float]:
    """Each class's weight in the loss (Keras' class_weight): "other" is the only one that can be
    lowered, because a small network trained from scratch otherwise answers "other" for the pets
    it is unsure of."""
    return {index: config.other_loss_weight if index == OTHER else 1.0 for index in range(len(CLASS_NAMES))}


class _TimeBudget(keras.callbacks.Callback):
    """Cosine decay of the learning rate over whichever runs out first, the wall-clock budget
    or the steps, and a stop when the time is up. A resumed run starts a new budget."""

    def __init__(self, seconds: float, peak_learning_rate: float, total_steps: int):
        super().__init__()
        self.seconds, self.peak, self.total_steps = seconds, peak_learning_rate, total_steps
        self.start, self.step = 0.0, 0  # the clock starts with training (on_train_begin)

    def on_train_begin(self, logs=None):
        self.start = time.time()

    def on_train_batch_begin(self, batch, logs=None):
        self.model.optimizer.learning_rate = budget_cosine(
            self.peak, (time.time() - self.start) / self.seconds, self.step / self.total_steps)

    def on_train_batch_end(self, batch, logs=None):
        self.step += 1
        if time.time() - self.start > self.seconds:
            log.info("time budget reached; stopping")
            self.model.stop_training = True


def budget_cosine(peak: float, time_used: float, steps_used: float) -> float:
    """The cosine schedule at the larger of the fractions used of the time and of the steps."""
    return peak * 0.5 * (1 + math.cos(math.pi * min(1.0, max(time_used, steps_used))))


# --- stage 3: fusion with ImageNet, on the held-out photos ------------------------

def score_val_split(scorer: BulkPredictor, data: CachedData, config: TrainConfig) -> HeldOut:
    """Without cross-validation the val split is what the fusion and temperature learn from;
    its folds (by kind, for "other") let the fusion be judged on kinds it did not see."""
    outputs = scorer.predict_all(data.subset("val")[0])
    return HeldOut(outputs[0], data.labels_of("val"), cross_validation_folds(data, ("val",), 5),
                   data.kinds_of("val"), np.array(data.paths_of("val")),
                   outputs[2] if len(outputs) > 2 else None)


def fuse(held_out: HeldOut, imagenet) -> tuple[Fusion | None, np.ndarray]:
    """The fusion fitted on all held-out photos, and the held-out logits to judge and calibrate
    by: each photo's from a fusion fitted without its fold (or the head's, without fusion)."""
    if imagenet is None:
        return None, held_out.logits
    fusion = fit_fusion(held_out.logits, held_out.imagenet_logits, held_out.labels, imagenet)
    log.info("fusion weights (rows: head cat, dog, other; ImageNet log P cat, dog, other):\n%s\nbias %s",
             np.round(fusion.kernel, 3), np.round(fusion.bias, 3))
    nested = nested_fusion_logits(held_out.logits, held_out.imagenet_logits, held_out.labels,
                                  held_out.folds, imagenet)
    return fusion, nested


def compare_on_held_out_kinds(held_out: HeldOut, fused_logits: np.ndarray, temperature: float,
                              run_dir: Path) -> dict[str, KindFigures]:
    """Each way of answering, judged on held-out photos whose kind of "other" the head never
    saw: the head alone, the head gated by ImageNet, and the fusion (the shipped answer)."""
    head_temperature = metrics.fit_temperature(held_out.logits, held_out.labels)
    head_probabilities = metrics.softmax(held_out.logits, head_temperature)
    fused_probabilities = metrics.softmax(fused_logits, temperature)
    answers = {recipes.HEAD_ALONE: decide(head_probabilities)}
    if held_out.imagenet_logits is not None:
        answers[recipes.IMAGENET_GATE] = imagenet_gate(
            held_out.logits, held_out.imagenet_logits)
        answers[recipes.FUSED] = decide(fused_probabilities)
    np.savez(RunFiles(run_dir).held_out_predictions, probabilities=fused_probabilities, labels=held_out.labels,
             kinds=held_out.kinds, paths=held_out.paths, folds=held_out.folds)
    comparison = {name: metrics.by_kind(predicted, held_out.labels, held_out.kinds)
                  for name, predicted in answers.items()}
    comparison[recipes.HEAD_ALONE].log_loss = metrics.negative_log_likelihood(held_out.logits, held_out.labels,
                                                                       head_temperature)
    if held_out.imagenet_logits is not None:
        comparison[recipes.FUSED].log_loss = metrics.negative_log_likelihood(fused_logits, held_out.labels, temperature)
    for name, figures in comparison.items():
        log.info("held-out kinds, %s: %s", name, _as_json(figures))
    return comparison


def compare_tuned_with_frozen(tuned: HeldOut, tuned_fused_logits: np.ndarray, frozen: HeldOut, imagenet,
                              comparison: dict[str, KindFigures]) -> dict[str, PairedFigures]:
    """The tuned top against the frozen backbone's head, photo by photo on the same held-out
    photos (both fused with ImageNet the same nested way): the frozen recipes join the
    held-out-kinds `comparison`, and a McNemar test on the photos the two disagree on."""
    frozen_fused = fuse(frozen, imagenet)[1] if imagenet is not None else frozen.logits
    for name, logits in ((recipes.FROZEN_HEAD_ALONE, frozen.logits), (recipes.FROZEN_FUSED, frozen_fused)):
        comparison[name] = metrics.by_kind(decide(logits), frozen.labels, frozen.kinds)
    tuned_right = decide(tuned_fused_logits) == tuned.labels
    frozen_right = decide(frozen_fused) == frozen.labels
    pets = tuned.labels != OTHER
    paired = {name: _paired_figures(metrics.Paired.of(tuned_right, frozen_right, rows))
              for name, rows in (("pets", pets), ("other", ~pets))}
    log.info("tuned against frozen, photo by photo: %s", _as_json(paired))
    return paired


def _paired_figures(tuned_first: metrics.Paired) -> PairedFigures:
    return PairedFigures(photos=tuned_first.photos, only_tuned_right=tuned_first.only_first_right,
                         only_frozen_right=tuned_first.only_second_right, mcnemar_p=tuned_first.mcnemar_p,
                         tuned_right=tuned_first.first_right, frozen_right=tuned_first.second_right)


# --- evaluation and the model's contract ---------------------------------------

def evaluate(scorer: BulkPredictor, fusion: Fusion | None, data: CachedData, temperature: float, run_dir: Path,
             held_out: tuple[np.ndarray, np.ndarray], held_out_name: str) -> Metrics:
    """Calibrated figures on the held-out photos (val, or cross-validation's out-of-fold
    logits) and on the test split, read only here."""
    test_images, test_labels = data.subset("test")
    outputs = scorer.predict_all(test_images)
    logits = fusion.logits(outputs[0], outputs[2]) if fusion else outputs[0]
    test_probabilities = metrics.softmax(logits, temperature)
    np.savez(RunFiles(run_dir).test_predictions, probabilities=test_probabilities, labels=test_labels,
             paths=np.array(data.paths_of("test")), kinds=data.kinds_of("test"))
    logits, labels = held_out
    return Metrics(test=metrics.summarise(test_probabilities, test_labels, CLASS_NAMES),
                   test_by_kind=metrics.by_kind(decide(test_probabilities), test_labels, data.kinds_of("test")),
                   **{held_out_name: metrics.summarise(metrics.softmax(logits, temperature), labels, CLASS_NAMES)})


def make_contract(config: TrainConfig, data: CachedData, temperature: float, results: Metrics,
                  timings: dict, fusion: Fusion | None, mislabelled_left_out: int) -> Contract:
    counts = {split: dict(zip(CLASS_NAMES, np.bincount(data.labels_of(split), minlength=len(CLASS_NAMES)).tolist()))
              for split in ("train", "val", "test")}
    now = datetime.now(timezone.utc)
    return Contract(
        name=f"catsdogs-{config.model}",
        version=now.strftime("%Y.%m.%d"),
        created=now.isoformat(timespec="seconds"),
        architecture=config.model,
        class_names=list(CLASS_NAMES),
        input=ModelInput(INPUT_NAME, config.input_size),
        preprocessing=PREPROCESSING.format(size=config.input_size),
        mirror_average=config.mirror_average,
        imagenet_fusion=None if fusion is None else ImageNetFusion(
            inputs=["head logit cat", "head logit dog", "head logit other",
                    "ImageNet log P(cat)", "ImageNet log P(dog)", "ImageNet log P(other)"],
            imagenet_classes={"cat": [IMAGENET_CATS.start, IMAGENET_CATS.stop - 1],
                              "dog": [IMAGENET_DOGS.start, IMAGENET_DOGS.stop - 1]},
            kernel=np.round(fusion.kernel, 5).tolist(), bias=np.round(fusion.bias, 5).tolist(),
            imagenet_class_names=imagenet_class_names()),
        temperature=temperature,
        calibrated_on=(f"out-of-fold logits of {config.head_folds}-fold cross-validation over train + val"
                       if results.cv is not None else "the validation split"),
        training_data=TrainingData(pets=public_names(config.pets), others=public_names(config.others),
                                   sources=data_sources(config.pets + config.others),
                                   counts=counts, skipped_files=len(data.skipped), split=SPLIT_RULE,
                                   mislabelled_left_out=mislabelled_left_out,
                                   head_fitted_on="train + val" if results.cv is not None else "train"),
        metrics=results,
        stage_seconds=timings,
        machine=this_machine(),
        config={**dataclasses.asdict(config), "pets": public_names(config.pets),
                "others": public_names(config.others), "run_dir": public_names([config.run_dir])[0],
                "cache_dir": public_names([config.cache_dir])[0]},
    )


def data_sources(folders: list[str]) -> dict[str, str]:
    """Each data folder's own description: the title of the README.md in it or beside it."""
    sources = {}
    for folder in folders:
        readme = next((p for p in (Path(folder) / "README.md", Path(folder).parent / "README.md") if p.exists()), None)
        if readme:
            sources[public_names([folder])[0]] = readme.read_text().splitlines()[0].lstrip("# ").strip()
    return sources


def this_machine() -> str:
    """CPUs, architecture and processor of the machine training runs on, for the model card."""
    model = next((line.split(":", 1)[1].strip() for line in Path("/proc/cpuinfo").read_text().splitlines()
                  if line.startswith("model name")), "") if Path("/proc/cpuinfo").exists() else ""
    return ", ".join(part for part in (f"{os.cpu_count()} CPUs", platform.machine(), model) if part)


def public_names(folders: list[str]) -> list[str]:
    """A data folder as the model's contract publishes it: its last two path parts
    ("dogs-vs-cats/train"), never where it sat on the machine that trained."""
    return ["/".join(Path(folder).resolve().parts[-2:]) for folder in folders]


# --- plumbing --------------------------------------------------------------------

def _as_json(value) -> str:
    """Figures for the log: dataclasses (also inside dicts) as their fields."""
    if isinstance(value, dict):
        value = {key: dataclasses.asdict(v) if dataclasses.is_dataclass(v) else v for key, v in value.items()}
    return json.dumps(dataclasses.asdict(value) if dataclasses.is_dataclass(value) else value)


@contextlib.contextmanager
def _stage(name: str, timings: dict):
    start = time.time()
    log.info("stage %s: start", name)
    yield
    timings[name] = round(time.time() - start, 1)
    log.info("stage %s: done in %.0f s", name, timings[name])


def _setup_logging(path: Path) -> None:
    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(message)s",
                        handlers=[logging.StreamHandler(), logging.FileHandler(path)], force=True)


def _setup_tensorflow(config: TrainConfig) -> None:
    keras.utils.set_random_seed(config.seed)
    try:
        tf.config.threading.set_intra_op_parallelism_threads(config.workers)
        tf.config.threading.set_inter_op_parallelism_threads(config.workers)
    except RuntimeError:  # TensorFlow already started in this process (tests): keep its pools
        log.info("TensorFlow thread pools already initialised; --workers applies to decoding only")


if __name__ == "__main__":
    main()
