#!/usr/bin/python3
"""Gradients and integrated gradients from PyTorch autograd in float64, for test/grad-reference.test.ts.

usage: /usr/bin/python3 scripts/make-grad-expectations.py MODEL_DIR [REFERENCE_DIR] > test/fixtures/grad-expected.json
  MODEL_DIR      a fixture folder with config.json, model.safetensors, vocab.txt and expected.json (its cases give ids)
  REFERENCE_DIR  the float64 mirror of Hugging Face's DistilBERT (default ../shared/tools/reference)

Nothing here depends on the model's size: cases are taken from the folder's expected.json, special tokens from its
vocab.txt, shapes from its config.json.
"""
import json
import os
import sys

import numpy as np
import torch
import torch.nn.functional as F

model_dir = sys.argv[1]
ref_dir = sys.argv[2] if len(sys.argv) > 2 else os.path.join(os.path.dirname(os.path.abspath(__file__)), "../../shared/tools/reference")
sys.path.insert(0, os.path.abspath(ref_dir))
from distilbert_ref import load_model_dir  # noqa: E402

torch.set_grad_enabled(True)
model = load_model_dir(model_dir, "model.safetensors", torch.float64)
cfg = model.config
vocab = open(os.path.join(model_dir, "vocab.txt"), encoding="utf-8").read().split("\n")
special = {tok: vocab.index(tok) for tok in ("[PAD]", "[CLS]", "[SEP]")}
expected = json.load(open(os.path.join(model_dir, "expected.json")))
L = cfg.num_labels
n_layers = cfg.n_layers


def run(x0, mask):
    """embeddings.out [1, T, dim] → (logits [L], hidden states, attention probs), every tensor kept for .grad."""
    hs = [x0]
    probs = []
    h = x0
    for block in model.distilbert.transformer.layer:
        h, w = block(h, mask)
        if h.requires_grad:
            h.retain_grad()
            w.retain_grad()
        hs.append(h)
        probs.append(w)
    pooled = F.relu(model.pre_classifier(h[:, 0]))
    return model.classifier(pooled)[0], hs, probs


def objective(kind, label, logits):
    if kind == "logit":
        return logits[label]
    if kind == "logProb":
        return F.log_softmax(logits, dim=-1)[label]
    if kind == "prob":
        return F.softmax(logits, dim=-1)[label]
    raise ValueError(kind)


def flat(t):
    return [float(v) for v in t.detach().reshape(-1).tolist()]


# Rows of the fixture's cases with every key attended and at least 3 tokens; the shortest, one in the middle and the
# longest up to 24 tokens (or the shortest rows there are, if none is that short).
rows = {}
for c in expected["cases"]:
    for ids, mask in zip(c["input_ids"], c["attention_mask"]):
        if len(ids) >= 3 and all(m == 1 for m in mask):
            rows.setdefault(tuple(ids), {"name": c["name"], "input_ids": [ids]})
pool = sorted(rows.values(), key=lambda c: (len(c["input_ids"][0]), c["name"]))
if not pool:
    raise SystemExit("no case of at least 3 unmasked tokens in expected.json")
short = [c for c in pool if len(c["input_ids"][0]) <= 24] or pool[:3]
picked = [short[0], short[len(short) // 2], short[-1]]
kinds = ["logit", "logProb", "prob"]
cases = []
for i, c in enumerate(picked):
    ids = c["input_ids"][0]
    T = len(ids)
    variants = [("all", [1] * T)]
    if i == len(picked) - 1:
        variants.append(("masked", [1] * (T - 2) + [0, 0]))  # the softmax-with-mask backward: two keys masked
    for vname, mask in variants:
        kind = kinds[i % len(kinds)]
        label = (L - 1) if i % 2 == 0 else 0
        x0 = model.distilbert.embeddings(torch.tensor([ids])).detach().requires_grad_(True)
        logits, hs, probs = run(x0, torch.tensor([mask]))
        value = objective(kind, label, logits)
        value.backward()
        grads = {"embeddings.out": flat(x0.grad)}
        for li in range(n_layers):
            grads[f"layer.{li}.out"] = flat(hs[li + 1].grad)
        for li in sorted({0, n_layers - 1}):
            grads[f"layer.{li}.attn.probs"] = flat(probs[li].grad)
        cases.append({"name": f"{c['name']}/{vname}", "input_ids": ids, "attention_mask": mask, "objective": kind,
                      "label": label, "value": float(value), "logits": flat(logits), "gradients": grads})

# Integrated gradients of the target logit w.r.t. embeddings.out, baseline = [PAD] everywhere but [CLS]/[SEP].
ig_case = picked[-1]
ids = ig_case["input_ids"][0]
base_ids = [t if t in (special["[CLS]"], special["[SEP]"]) else special["[PAD]"] for t in ids]
with torch.no_grad():
    x = model.distilbert.embeddings(torch.tensor([ids]))
    xb = model.distilbert.embeddings(torch.tensor([base_ids]))
    ones = torch.ones(1, len(ids), dtype=torch.long)
    target = int(torch.argmax(run(x, ones)[0]))
    fx = float(run(x, ones)[0][target])
    fb = float(run(xb, ones)[0][target])


def integrated_gradients(alphas, weights):
    total = torch.zeros_like(x)
    for a, w in zip(alphas, weights):
        xi = (xb + a * (x - xb)).detach().requires_grad_(True)
        run(xi, ones)[0][target].backward()
        total += w * xi.grad
    ig = (x - xb) * total
    per_token = ig.sum(-1)[0]
    return {"attributions": flat(per_token), "completeness_gap": float(per_token.sum()) - (fx - fb)}


ig = {"input_ids": ids, "baseline_ids": base_ids, "target": target, "f_input": fx, "f_baseline": fb, "steps": 32}
m = 32
ig["riemann_right"] = integrated_gradients([k / m for k in range(1, m + 1)], [1 / m] * m)
nodes, wts = np.polynomial.legendre.leggauss(m)
ig["gauss_legendre"] = integrated_gradients([(n + 1) / 2 for n in nodes], [w / 2 for w in wts])
# Gradient × (input - baseline): one gradient, at x.
ig["gradxinput"] = integrated_gradients([1.0], [1.0])

# Attention rollout: A = 0.5 · mean over heads + 0.5 · I, rows renormalised, R = A_L ⋯ A_1; the [CLS] row of R.
with torch.no_grad():
    _, _, probs = run(x, ones)
    R = None
    for w in probs:
        A = 0.5 * w[0].mean(0) + 0.5 * torch.eye(len(ids), dtype=torch.float64)
        A = A / A.sum(-1, keepdim=True)
        R = A if R is None else A @ R
ig["rollout_cls"] = flat(R[0])

json.dump({
    "command": "/usr/bin/python3 scripts/make-grad-expectations.py ../shared/fixtures/tiny > test/fixtures/grad-expected.json",
    "torch": torch.__version__,
    "config": {k: cfg.raw[k] for k in ("dim", "n_layers", "n_heads", "hidden_dim", "vocab_size", "max_position_embeddings", "activation")},
    "labels": L,
    "cases": cases,
    "integrated_gradients": ig,
}, sys.stdout)
sys.stdout.write("\n")
