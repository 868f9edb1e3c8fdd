"""Which outputs int8 keeps float: ImageNet's logits, never a backbone's own matrix products."""

from onnx import helper

from convert.quantize import float_output_ops


def graph_of(*names: str):
    nodes = [helper.make_node("MatMul", [f"x{i}", f"w{i}"], [f"y{i}"], name=name) for i, name in enumerate(names)]
    return helper.make_model(helper.make_graph(nodes, "g", [], []))


def test_imagenet_s_logits_stay_float_when_its_product_is_the_only_one_quantized():
    model = graph_of("m/imagenet_fc_1/MatMul", "m/fusion_1/MatMul")
    assert float_output_ops(model, excluded=["m/fusion_1/MatMul"]) == ["Gemm", "MatMul"]


def test_a_backbone_with_a_product_of_its_own_keeps_every_output_8_bit():
    model = graph_of("m/imagenet_fc_1/MatMul", "m/dense_1/MatMul")
    assert float_output_ops(model, excluded=[]) == []


def test_without_an_imagenet_classifier_nothing_changes():
    assert float_output_ops(graph_of("m/head_1/MatMul"), excluded=["m/head_1/MatMul"]) == []
