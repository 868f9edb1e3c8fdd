"""Fusing the head with the backbone's ImageNet classifier: the numpy arithmetic that
training judges by is the arithmetic of the exported graph, and the fit learns to
trust ImageNet where the head has nothing to say."""

from __future__ import annotations

import keras
import numpy as np
import pytest

from training import fusion
from training.metrics import softmax
from training.models.classifier import GroupLogProbabilities, make_export_model

CAT, DOG, OTHER = 0, 1, 2


@pytest.fixture(scope="module")
def imagenet_head():
    rng = np.random.default_rng(0)
    return rng.normal(0, 0.5, (8, 1000)).astype(np.float32), rng.normal(0, 1, 1000).astype(np.float32)


def test_imagenet_class_names_match_the_groups():
    names = fusion.imagenet_class_names()
    assert len(names) == 1000 and names[0] == "tench"
    assert [names[i] for i in (281, 285, 151, 268)] == [
        "tabby cat", "Egyptian Mau", "Chihuahua", "Mexican hairless dog (xoloitzcuintli)"]
    assert "cat" not in names[286] and "dog" not in names[269]  # cougar, grey wolf: not pets


def test_imagenet_groups_are_its_5_cats_118_dogs_and_the_rest():
    groups = fusion.imagenet_groups()
    assert groups.sum(axis=0).tolist() == [5, 118, 877]
    assert (groups.sum(axis=1) == 1).all()
    assert groups[281, CAT] == groups[151, DOG] == groups[268, DOG] == groups[269, OTHER] == 1


def test_group_log_probabilities_are_the_log_of_summed_softmax_floored():
    logits = np.zeros((2, 1000), np.float32)
    logits[0, 281] = 20.0  # all but certain: a tabby
    logits[1, 151:269] = -40.0  # no dog at all
    expected = np.log(np.maximum(softmax(logits) @ fusion.imagenet_groups(), fusion.FLOOR))
    np.testing.assert_allclose(fusion.imagenet_log_groups(logits), expected, atol=1e-5)
    layer = GroupLogProbabilities([list(fusion.IMAGENET_CATS), list(fusion.IMAGENET_DOGS)], fusion.FLOOR)
    np.testing.assert_allclose(np.asarray(layer(logits)), expected, atol=1e-5)
    assert fusion.imagenet_log_groups(logits)[1, DOG] == pytest.approx(np.log(fusion.FLOOR))


def test_the_exported_graph_computes_what_training_judged(classifier, imagenet_head):
    rng = np.random.default_rng(1)
    fused = fusion.Fusion(imagenet_head, rng.normal(size=(6, 3)).astype(np.float32),
                          rng.normal(size=3).astype(np.float32))
    export = make_export_model(classifier, temperature=1.3, fusion=fused)
    photos = rng.uniform(0, 255, (4, 32, 32, 3)).astype(np.float32)
    probabilities, class_map, imagenet_probabilities = (np.asarray(t) for t in export(photos))

    head_logits = np.asarray(classifier(photos))
    backbone = keras.Model(classifier.input, classifier.get_layer("head_dropout").input)
    pooled = np.asarray(backbone(photos)).mean(axis=(1, 2))
    expected = softmax(fused.logits(head_logits, fusion.imagenet_logits(pooled, imagenet_head)), 1.3)
    np.testing.assert_allclose(probabilities, expected, atol=1e-5)
    # the map pools to the head's share of the fused logits, so it shows the head's evidence for the answer
    np.testing.assert_allclose(class_map.mean(axis=(1, 2)), head_logits @ fused.kernel[:3], atol=1e-4)
    np.testing.assert_allclose(imagenet_probabilities, softmax(fusion.imagenet_logits(pooled, imagenet_head)),
                               atol=1e-5)


def test_a_fused_model_survives_saving_and_loading(classifier, imagenet_head, tmp_path):
    fused = fusion.Fusion(imagenet_head, np.eye(6, 3, dtype=np.float32), np.zeros(3, np.float32))
    export = make_export_model(classifier, temperature=1.0, fusion=fused)
    export.save(tmp_path / "model.keras")
    loaded = keras.models.load_model(tmp_path / "model.keras")
    photos = np.random.default_rng(2).uniform(0, 255, (2, 32, 32, 3)).astype(np.float32)
    for before, after in zip(export(photos), loaded(photos)):
        np.testing.assert_allclose(after, before, atol=1e-6)


def made_up_held_out(rng, count=600):
    """The head tells cats from dogs but calls every "other" photo a dog (kinds it never
    saw); ImageNet knows the "other" photos are neither."""
    labels = rng.integers(0, 3, count)
    head_logits = rng.normal(0, 0.3, (count, 3)).astype(np.float32)
    head_logits[np.arange(count), np.where(labels == OTHER, DOG, labels)] += 4.0
    imagenet_logits = rng.normal(0, 0.3, (count, 1000)).astype(np.float32)
    imagenet_logits[labels == CAT, 281] += 8.0
    imagenet_logits[labels == DOG, 200] += 8.0
    imagenet_logits[labels == OTHER, 500] += 8.0
    return head_logits, imagenet_logits, labels


def test_the_fit_learns_to_trust_imagenet_where_the_head_is_blind(imagenet_head):
    head_logits, imagenet_logits, labels = made_up_held_out(np.random.default_rng(3))
    assert (head_logits.argmax(axis=1)[labels == OTHER] == OTHER).mean() == 0
    fitted = fusion.fit_fusion(head_logits, imagenet_logits, labels, imagenet_head)
    predicted = fitted.logits(head_logits, imagenet_logits).argmax(axis=1)
    assert (predicted == labels).mean() > 0.99


def test_nested_fusion_scores_each_fold_with_a_fusion_fitted_without_it(imagenet_head, monkeypatch):
    head_logits, imagenet_logits, labels = made_up_held_out(np.random.default_rng(4), count=90)
    folds = np.repeat([0, 1, 2], 30)
    fitted_on = []

    def recording_fit(head, imagenet, fit_labels, heads):
        fitted_on.append({tuple(row) for row in head})
        return fusion.Fusion(heads, np.eye(6, 3, dtype=np.float32), np.full(3, len(fitted_on), np.float32))

    monkeypatch.setattr(fusion, "fit_fusion", recording_fit)
    nested = fusion.nested_fusion_logits(head_logits, imagenet_logits, labels, folds, imagenet_head)
    for fold in range(3):
        held = folds == fold
        assert not {tuple(row) for row in head_logits[held]} & fitted_on[fold]
        np.testing.assert_allclose(nested[held] - head_logits[held], fold + 1, atol=1e-5)  # by fusion number fold+1


def test_a_nonlinear_fusion_starts_from_trusting_the_head():
    head_logits, imagenet_logits, labels = made_up_held_out(np.random.default_rng(5), count=64)
    x = fusion.fusion_inputs(head_logits, imagenet_logits)
    untrained = fusion.fit_logits(x, labels, hidden=8, epochs=0)  # the correction starts at zero
    np.testing.assert_allclose(untrained.predict(x, verbose=0), head_logits, atol=1e-5)
    fitted = fusion.fit_logits(x, labels, hidden=8)
    assert (fitted.predict(x, verbose=0).argmax(axis=1) == labels).mean() > 0.99
    linear = fusion.fit_logits(x, labels)
    assert not np.allclose(fitted.predict(x, verbose=0), linear.predict(x, verbose=0), atol=1e-3)  # the layer counts
