#!/usr/bin/python3
"""Gradients through every head but sequence classification, from PyTorch autograd in float64, for
test/grad-heads.test.ts.

usage: /usr/bin/python3 scripts/make-grad-head-expectations.py HEADS_DIR [REFERENCE_DIR] > test/fixtures/grad-heads-expected.json
  HEADS_DIR      the folder of head fixtures (mlm-uncased, qa-cased, ner-cased, embed), each with config.json,
                 model.safetensors and expected.json (its cases give the token ids)
  REFERENCE_DIR  the float64 mirror of Hugging Face's DistilBERT (default ../shared/tools/reference): its encoder is
                 used as is; the heads are written here as transformers' modeling_distilbert and sentence-transformers
                 compute them (vocab_transform → GELU → vocab_layer_norm → tied vocab_projector; qa_outputs;
                 classifier per token; mean Pooling → Dense → Normalize as the embed folder's modules.json says)

Every objective is a scalar of one output row (a token head's row at `position`) or of the pooled embedding; the
gradients are w.r.t. embeddings.out and every layer.{i}.out, and the head's own activations at that position.
"""
import json
import os
import sys

import torch
import torch.nn.functional as F

heads_dir = sys.argv[1]
ref_dir = sys.argv[2] if len(sys.argv) > 2 else os.path.join(os.path.dirname(os.path.abspath(__file__)), "../../shared/tools/reference")
sys.path.insert(0, os.path.abspath(ref_dir))
from distilbert_ref import DistilBertModel, RefConfig, get_activation  # noqa: E402
from safetensors_io import load_file  # noqa: E402

torch.set_grad_enabled(True)
D = torch.float64


def load(name, prefix):
    folder = os.path.join(heads_dir, name)
    config = RefConfig.from_json(os.path.join(folder, "config.json"))
    tensors, _ = load_file(os.path.join(folder, "model.safetensors"))
    tensors = {k: v.to(D) for k, v in tensors.items()}
    enc = DistilBertModel(config).to(D)
    sd = {k: tensors[prefix + k] for k in enc.state_dict()}
    enc.load_state_dict(sd, strict=True)
    enc.eval()
    return config, enc, tensors, json.load(open(os.path.join(folder, "expected.json")))


def encode(enc, ids, mask, x0=None):
    """→ (embeddings.out, [layer.{i}.out]) with .grad kept on each."""
    x = enc.embeddings(torch.tensor([ids])).detach() if x0 is None else x0
    x.requires_grad_(True)
    hs = []
    h = x
    for block in enc.transformer.layer:
        h, _ = block(h, torch.tensor([mask]))
        h.retain_grad()
        hs.append(h)
    return x, hs


def flat(t):
    return [float(v) for v in t.detach().reshape(-1).tolist()]


def objective(kind, row, label):
    if kind == "logit":
        return row[label]
    if kind == "logProb":
        return F.log_softmax(row, dim=-1)[label]
    if kind == "prob":
        return F.softmax(row, dim=-1)[label]
    raise ValueError(kind)


def record(name, head, ids, mask, position, kind, label, value, x, hs, head_acts, extra=None):
    value.backward()
    grads = {"embeddings.out": flat(x.grad)}
    for i, h in enumerate(hs):
        grads[f"layer.{i}.out"] = flat(h.grad)
    for n, t in head_acts.items():
        grads[n] = flat(t.grad)
    case = {"name": name, "head": head, "input_ids": ids, "attention_mask": mask, "position": position,
            "objective": kind, "label": label, "value": float(value), "gradients": grads}
    case.update(extra or {})
    return case


cases = []

# Masked LM: the log-probability (and the logit) of a vocabulary token at the [MASK] position.
cfg, enc, t, exp = load("mlm-uncased", "distilbert.")
act = get_activation(cfg.activation)
mlm_cases = [c for c in exp["cases"] if len(c["mask_positions"]) >= 1]
for i, c in enumerate(mlm_cases[:2]):
    ids = c["input_ids"]
    mask = [1] * len(ids)
    pos = c["mask_positions"][0]
    token = c["mask_logits_argmax"][0] if i == 0 else ids[1]
    kind = ["logProb", "logit"][i]
    x, hs = encode(enc, ids, mask)
    row = hs[-1][0, pos]
    vt = F.linear(row, t["vocab_transform.weight"], t["vocab_transform.bias"])
    vt.retain_grad()
    g = act(vt)
    g.retain_grad()
    ln = F.layer_norm(g, (cfg.dim,), t["vocab_layer_norm.weight"], t["vocab_layer_norm.bias"], eps=1e-12)
    ln.retain_grad()
    logits = F.linear(ln, t["distilbert.embeddings.word_embeddings.weight"], t["vocab_projector.bias"])
    value = objective(kind, logits, token)
    # (head.logits' gradient, 30522 numbers, is left out: the value checks the logits, the rest checks the backward.)
    cases.append(record(f"mlm/{i}", "mlm-uncased", ids, mask, pos, kind, token, value, x, hs,
                        {"head.vocab_transform": vt, "head.gelu": g, "head.vocab_layer_norm": ln}))

# Integrated gradients of the [MASK] row's logit for the top token (32 right Riemann steps), baseline = [PAD] everywhere
# but [CLS]/[SEP], per-token attribution = sum over dim: what `attribute --method ig` computes on a masked LM.
c = mlm_cases[0]
ids, pos, token = c["input_ids"], c["mask_positions"][0], c["mask_logits_argmax"][0]
vocab = open(os.path.join(heads_dir, "mlm-uncased", "vocab.txt"), encoding="utf-8").read().split("\n")
keep = {vocab.index("[CLS]"), vocab.index("[SEP]")}
base_ids = [i if i in keep else vocab.index("[PAD]") for i in ids]


def mlm_logit(x0):
    _, hs = encode(enc, ids, [1] * len(ids), x0)
    h = act(F.linear(hs[-1][0, pos], t["vocab_transform.weight"], t["vocab_transform.bias"]))
    h = F.layer_norm(h, (cfg.dim,), t["vocab_layer_norm.weight"], t["vocab_layer_norm.bias"], eps=1e-12)
    return F.linear(h, t["distilbert.embeddings.word_embeddings.weight"], t["vocab_projector.bias"])[token]


x = enc.embeddings(torch.tensor([ids])).detach()
xb = enc.embeddings(torch.tensor([base_ids])).detach()
m = 32
total = torch.zeros_like(x)
for k in range(1, m + 1):
    xi = (xb + (k / m) * (x - xb)).detach().requires_grad_(True)
    mlm_logit(xi).backward()
    total += xi.grad / m
per_token = ((x - xb) * total).sum(-1)[0]
fx, fb = float(mlm_logit(x.clone())), float(mlm_logit(xb.clone()))
mlm_ig = {"input_ids": ids, "position": pos, "target": token, "steps": m, "f_input": fx, "f_baseline": fb,
          "attributions": flat(per_token), "completeness_gap": float(per_token.sum()) - (fx - fb)}

# Question answering: the start logit at one position, the end logit at another (the first window of the first case).
cfg, enc, t, exp = load("qa-cased", "distilbert.")
w = exp["cases"][0]["windows"][0]
ids = w["input_ids"]
mask = [1] * len(ids)
for col, pos in ((0, len(ids) // 2), (1, len(ids) - 3)):
    x, hs = encode(enc, ids, mask)
    logits = F.linear(hs[-1][0, pos], t["qa_outputs.weight"], t["qa_outputs.bias"])
    logits.retain_grad()
    value = logits[col]
    cases.append(record(f"qa/{['start', 'end'][col]}", "qa-cased", ids, mask, pos, "logit", col, value, x, hs, {"head.logits": logits}))

# Token classification: a label's log-probability at one token, a logit at another with two keys masked.
cfg, enc, t, exp = load("ner-cased", "distilbert.")
ids = exp["cases"][0]["input_ids"]
for name, mask, pos, kind, label in (("ner/logProb", [1] * len(ids), 4, "logProb", 3),
                                     ("ner/masked", [1] * (len(ids) - 2) + [0, 0], 2, "logit", 1)):
    x, hs = encode(enc, ids, mask)
    logits = F.linear(hs[-1][0, pos], t["classifier.weight"], t["classifier.bias"])
    logits.retain_grad()
    cases.append(record(name, "ner-cased", ids, mask, pos, kind, label, objective(kind, logits, label), x, hs, {"head.logits": logits}))

# Sentence embedding (mean Pooling → Dense(tanh) → Normalize): the cosine similarity with another input's embedding,
# a fixed vector here. Ids from the masked-LM fixture's cases (the same bert-base-uncased vocabulary).
cfg, enc, t, exp = load("embed", "")
folder = os.path.join(heads_dir, "embed")
pool_cfg = json.load(open(os.path.join(folder, "1_Pooling/config.json")))
dense_cfg = json.load(open(os.path.join(folder, "2_Dense/config.json")))
assert pool_cfg.get("pooling_mode") == "mean" or pool_cfg.get("pooling_mode_mean_tokens"), "embed/: mean pooling expected"
assert dense_cfg["activation_function"].endswith("Tanh"), "embed/: a tanh Dense expected"
dense, _ = load_file(os.path.join(folder, "2_Dense/model.safetensors"))
dense = {k: v.to(D) for k, v in dense.items()}


def embed(ids, mask):
    x, hs = encode(enc, ids, mask)
    m = torch.tensor([mask], dtype=D)[0].unsqueeze(-1)
    pooled = (hs[-1][0] * m).sum(0) / m.sum().clamp(min=1e-9)
    pooled.retain_grad()
    d = torch.tanh(F.linear(pooled, dense["linear.weight"], dense["linear.bias"]))
    d.retain_grad()
    n = F.normalize(d, p=2, dim=0)
    n.retain_grad()
    return x, hs, {"head.1.pooling": pooled, "head.2.dense": d, "head.3.normalize": n}


other = mlm_cases[1]["input_ids"]
direction = embed(other, [1] * len(other))[2]["head.3.normalize"].detach()
for name, mask in (("embed/cosine", None), ("embed/masked", "masked")):
    ids = mlm_cases[0]["input_ids"]
    m = [1] * len(ids) if mask is None else [1] * (len(ids) - 2) + [0, 0]
    x, hs, acts = embed(ids, m)
    value = (acts["head.3.normalize"] * direction).sum()
    cases.append(record(name, "embed", ids, m, None, "dot", None, value, x, hs, acts,
                        {"direction": flat(direction), "embedding": flat(acts["head.3.normalize"])}))

# Integrated gradients of that similarity (32 right Riemann steps, [PAD] baseline): `attribute --similar-to` on the
# embedding model (its cosine equals this dot product: both embeddings are normalised).
ids = mlm_cases[0]["input_ids"]
base_ids = [i if i in keep else vocab.index("[PAD]") for i in ids]


def similarity(x0):
    x, hs = encode(enc, ids, [1] * len(ids), x0)
    pooled = hs[-1][0].mean(0)
    d = torch.tanh(F.linear(pooled, dense["linear.weight"], dense["linear.bias"]))
    return (F.normalize(d, p=2, dim=0) * direction).sum()


x = enc.embeddings(torch.tensor([ids])).detach()
xb = enc.embeddings(torch.tensor([base_ids])).detach()
steps = 32
total = torch.zeros_like(x)
for k in range(1, steps + 1):
    xi = (xb + (k / steps) * (x - xb)).detach().requires_grad_(True)
    similarity(xi).backward()
    total += xi.grad / steps
per_token = ((x - xb) * total).sum(-1)[0]
fx, fb = float(similarity(x.clone())), float(similarity(xb.clone()))
embed_ig = {"input_ids": ids, "other_ids": other, "steps": steps, "f_input": fx, "f_baseline": fb,
            "attributions": flat(per_token), "completeness_gap": float(per_token.sum()) - (fx - fb)}

json.dump({
    "command": "/usr/bin/python3 scripts/make-grad-head-expectations.py ../shared/fixtures/heads > test/fixtures/grad-heads-expected.json",
    "torch": torch.__version__,
    "cases": cases,
    "mlm_integrated_gradients": mlm_ig,
    "embedding_integrated_gradients": embed_ig,
}, sys.stdout)
sys.stdout.write("\n")
