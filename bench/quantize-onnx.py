#!/usr/bin/env python3
"""The peers' q8 ONNX: the ONNX twin rewritten as onnxruntime's `quantize_dynamic` (default options) rewrites it, for
hosts where the onnxruntime Python package cannot be installed (no PyPI here; Debian has python3-onnx).

  /usr/bin/python3 bench/quantize-onnx.py /tmp/refmodel-base/model.onnx /tmp/refmodel-base/model.q8.onnx

What quantize_dynamic (onnxruntime.quantization, QuantType.QInt8 weights, per_channel=False, reduce_range=False) does
to this graph, and what this script does the same way:
  - MatMul(x, W) with W an initializer: W → int8 per tensor, symmetric (scale = max|W| / 127, zero point 0), and
      x → DynamicQuantizeLinear → (x_q uint8, x_scale, x_zp)
      MatMulInteger(x_q, W_q, x_zp, W_zp) → int32 → Cast(float) → Mul(·, x_scale · W_scale)
    (the node's other consumers see the same output name);
  - Gather(W, ids) with W an initializer (the embeddings): W → int8 per tensor, Gather on it, DequantizeLinear;
  - everything else (Gemm, the attention's MatMuls of two activations, LayerNorm, Softmax, ...) stays float.
This is the scheme of transformers.js's `model_quantized.onnx` files (onnxruntime's dynamic quantization, int8
weights per tensor, uint8 activations with a zero point per tensor).
"""
import sys

import numpy as np
import onnx
from onnx import TensorProto, helper, numpy_helper


def quantize_weight(w):
    rmax = float(np.abs(w).max())
    scale = np.float32(rmax / 127.0 if rmax > 0 else 1.0)
    q = np.clip(np.rint(w / scale), -127, 127).astype(np.int8)
    return q, scale


def main(src, dst):
    model = onnx.load(src)
    g = model.graph
    inits = {t.name: t for t in g.initializer}
    new_nodes = []
    new_inits = []
    done = set()
    counts = {"MatMul": 0, "Gather": 0}
    for node in g.node:
        if node.op_type == "MatMul" and node.input[1] in inits and len(numpy_helper.to_array(inits[node.input[1]]).shape) == 2:
            wname = node.input[1]
            x = node.input[0]
            base = node.name or wname
            if wname not in done:
                q, s = quantize_weight(numpy_helper.to_array(inits[wname]).astype(np.float32))
                new_inits += [numpy_helper.from_array(q, wname + "_quantized"), numpy_helper.from_array(np.array(s, np.float32), wname + "_scale"),
                              numpy_helper.from_array(np.array(0, np.int8), wname + "_zero_point")]
                done.add(wname)
            xq, xs, xz = x + "_" + base + "_q", x + "_" + base + "_scale", x + "_" + base + "_zp"
            new_nodes.append(helper.make_node("DynamicQuantizeLinear", [x], [xq, xs, xz], name=base + "_dql"))
            mmi = base + "_mmi_out"
            new_nodes.append(helper.make_node("MatMulInteger", [xq, wname + "_quantized", xz, wname + "_zero_point"], [mmi], name=base + "_mmi"))
            cast = base + "_cast_out"
            new_nodes.append(helper.make_node("Cast", [mmi], [cast], to=TensorProto.FLOAT, name=base + "_cast"))
            sc = base + "_scales"
            new_nodes.append(helper.make_node("Mul", [xs, wname + "_scale"], [sc], name=base + "_scale_mul"))
            new_nodes.append(helper.make_node("Mul", [cast, sc], [node.output[0]], name=base + "_out_mul"))
            counts["MatMul"] += 1
        elif node.op_type == "Gather" and node.input[0] in inits and len(numpy_helper.to_array(inits[node.input[0]]).shape) == 2:
            wname = node.input[0]
            base = node.name or wname
            if wname not in done:
                q, s = quantize_weight(numpy_helper.to_array(inits[wname]).astype(np.float32))
                new_inits += [numpy_helper.from_array(q, wname + "_quantized"), numpy_helper.from_array(np.array(s, np.float32), wname + "_scale"),
                              numpy_helper.from_array(np.array(0, np.int8), wname + "_zero_point")]
                done.add(wname)
            gq = base + "_gather_q"
            new_nodes.append(helper.make_node("Gather", [wname + "_quantized", node.input[1]], [gq], name=base + "_gather", **{a.name: helper.get_attribute_value(a) for a in node.attribute}))
            new_nodes.append(helper.make_node("DequantizeLinear", [gq, wname + "_scale", wname + "_zero_point"], [node.output[0]], name=base + "_dq"))
            counts["Gather"] += 1
        else:
            new_nodes.append(node)
    used = set(i for n in new_nodes for i in n.input)
    keep = [t for t in g.initializer if t.name in used]
    del g.node[:]
    g.node.extend(new_nodes)
    del g.initializer[:]
    g.initializer.extend(keep + new_inits)
    # MatMulInteger and DynamicQuantizeLinear are in the default domain from opset 10 and 11.
    for op in model.opset_import:
        if op.domain in ("", "ai.onnx") and op.version < 11:
            op.version = 11
    onnx.checker.check_model(model)
    onnx.save(model, dst)
    print(f"{dst}: {counts['MatMul']} MatMul and {counts['Gather']} Gather nodes quantized")


if __name__ == "__main__":
    if len(sys.argv) != 3:
        sys.exit("usage: quantize-onnx.py IN.onnx OUT.onnx")
    main(sys.argv[1], sys.argv[2])
