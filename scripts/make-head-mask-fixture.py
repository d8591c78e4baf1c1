#!/usr/bin/env python3
"""Golden outputs for `forward(..., { headMask })`: writes test/fixtures/head-mask.json.

The shared float64 reference (../shared/tools/reference/distilbert_ref.py) has no head_mask argument, so this
script runs the reference's own modules (same weights, same q_lin/k_lin/... objects) through a forward that adds
exactly what Hugging Face's modeling_distilbert.py does with a head mask:

  * MultiHeadSelfAttention.forward: `weights = softmax(scores)`, `weights = dropout(weights)` (identity in eval),
    then `if head_mask is not None: weights = weights * head_mask`; `context = weights @ v`; the returned
    attentions are these masked weights.
  * PreTrainedModel.get_head_mask: a 1-D mask [n_heads] is broadcast to every layer, a 2-D mask [n_layers, n_heads]
    gives one row per layer (layer i gets head_mask[i], shaped [1, n_heads, 1, 1]).

(transformers 4.x; version 5 removed head masking, transformers#41076. Checked against modeling_distilbert.py at commit
00b326f4caca2d1fbebe5c86e1693475fd4d0c9a.) Before writing anything the script checks that its forward with no
head mask reproduces the reference's own forward bit for bit, so it cannot drift from the mirror.

Usage (needs torch and numpy; Debian: apt-get install python3-torch python3-numpy, then /usr/bin/python3):
  python3 scripts/make-head-mask-fixture.py [--fixture ../shared/fixtures/tiny] [--out test/fixtures/head-mask.json]

Numbers are float64 forward passes rounded to 7 significant digits, as in the shared expected.json.
CI has no Python: the committed JSON is what the tests read.
"""
from __future__ import annotations

import argparse
import json
import math
import os
import sys

import numpy as np
import torch
import torch.nn.functional as F

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
REF_DIR = os.path.join(ROOT, "..", "shared", "tools", "reference")
SIG = 7
CLS, SEP, PAD = 101, 102, 0


def r7(a):
    a = np.asarray(a, dtype=np.float64)
    flat = [float(f"{x:.{SIG}g}") for x in a.ravel().tolist()]
    return np.array(flat, dtype=np.float64).reshape(a.shape).tolist() if a.ndim else flat[0]


def expand_head_mask(head_mask, n_layers, n_heads):
    """HF get_head_mask: [n_heads] -> every layer; [n_layers, n_heads] -> per layer. Returns [n_layers, n_heads]."""
    hm = torch.tensor(head_mask, dtype=torch.float64)
    if hm.dim() == 1:
        assert hm.shape[0] == n_heads
        return hm.unsqueeze(0).expand(n_layers, -1)
    assert list(hm.shape) == [n_layers, n_heads]
    return hm


def attention(att, x, mask, layer_head_mask):
    """The reference's MultiHeadSelfAttention.forward plus HF's head_mask multiply after the softmax."""
    bs, T, dim = x.size()
    H = att.n_heads
    dph = dim // H

    def shape(t):
        return t.view(bs, -1, H, dph).transpose(1, 2)

    def unshape(t):
        return t.transpose(1, 2).contiguous().view(bs, -1, H * dph)

    q = shape(att.q_lin(x)) / math.sqrt(dph)
    k = shape(att.k_lin(x))
    v = shape(att.v_lin(x))
    scores = torch.matmul(q, k.transpose(2, 3))
    m = (mask == 0).view(bs, 1, 1, T).expand_as(scores)
    scores = scores.masked_fill(m, torch.tensor(torch.finfo(scores.dtype).min, dtype=scores.dtype))
    weights = F.softmax(scores, dim=-1)
    if layer_head_mask is not None:
        weights = weights * layer_head_mask.view(1, H, 1, 1)
    context = unshape(torch.matmul(weights, v))
    return att.out_lin(context), weights


def forward(model, ids, mask, head_mask):
    """The reference's DistilBertForSequenceClassification.forward with an optional [n_layers, n_heads] mask."""
    h = model.distilbert.embeddings(ids)
    hidden, attns = [h], []
    for i, block in enumerate(model.distilbert.transformer.layer):
        sa, w = attention(block.attention, h, mask, None if head_mask is None else head_mask[i])
        sa = block.sa_layer_norm(sa + h)
        h = block.output_layer_norm(block.ffn(sa) + sa)
        hidden.append(h)
        attns.append(w)
    pooled = F.relu(model.pre_classifier(h[:, 0]))
    return {"logits": model.classifier(pooled), "hidden_states": hidden, "attentions": attns}


def sentence(rng, vocab, T):
    return [CLS] + rng.integers(1000, vocab, size=T - 2).tolist() + [SEP]


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--fixture", default=os.path.join(ROOT, "..", "shared", "fixtures", "tiny"))
    ap.add_argument("--out", default=os.path.join(ROOT, "test", "fixtures", "head-mask.json"))
    a = ap.parse_args()

    sys.path.insert(0, os.path.abspath(REF_DIR))
    from distilbert_ref import load_model_dir  # noqa: E402  (the shared reference)

    cfg = json.load(open(os.path.join(a.fixture, "config.json")))
    L, H, V = cfg["n_layers"], cfg["n_heads"], cfg["vocab_size"]
    id2label = {str(k): v for k, v in cfg["id2label"].items()}
    model = load_model_dir(a.fixture, "model.safetensors", torch.float64)
    rng = np.random.default_rng(4)

    s9 = sentence(rng, V, 9)
    s12 = sentence(rng, V, 12)
    s6 = sentence(rng, V, 6)
    zeros_in_both = [[1.0] * H for _ in range(L)]
    zeros_in_both[0][1] = 0.0
    zeros_in_both[L - 1][0] = 0.0
    zeros_in_both[L - 1][H - 1] = 0.0
    frac = [[round(0.25 + 0.5 * ((l * H + h) % 3) / 2, 3) for h in range(H)] for l in range(L)]
    frac[0][0] = 0.1
    layer_off = [[0.0] * H] + [[1.0] * H for _ in range(L - 1)]
    broadcast = [1.0 if h % 2 == 0 else 0.0 for h in range(H)]
    broadcast[-1] = 0.5
    cases = [
        ("zero_some_heads", [s9], zeros_in_both, "whole heads zeroed in the first and last layers"),
        ("fractional", [s12], frac, "fractional multipliers (HF allows any float)"),
        ("whole_layer_zero", [s9], layer_off, "every head of layer 0 zeroed: that layer's attention adds only out_lin's bias"),
        ("broadcast_1d", [s12], broadcast, "a 1-D [n_heads] mask, which HF applies to every layer"),
        ("padded_batch", [s9, s6], zeros_in_both, "right-padded batch of two with a head mask"),
        ("all_ones", [s6], [[1.0] * H for _ in range(L)], "all ones: must equal no mask at all"),
    ]

    # The forward above must be the reference's forward when there is no head mask.
    for _, seqs, _, _ in cases:
        T = max(len(s) for s in seqs)
        ids = torch.tensor([s + [PAD] * (T - len(s)) for s in seqs])
        mask = torch.tensor([[1] * len(s) + [0] * (T - len(s)) for s in seqs])
        with torch.no_grad():
            mine, ref = forward(model, ids, mask, None), model(ids, mask)
        assert torch.equal(mine["logits"], ref["logits"]), "mirror drifted from distilbert_ref.forward"
        for x, y in zip(mine["attentions"], ref["attentions"]):
            assert torch.equal(x, y)
        for x, y in zip(mine["hidden_states"], ref["hidden_states"]):
            assert torch.equal(x, y)

    out_cases = []
    for name, seqs, hm, note in cases:
        T = max(len(s) for s in seqs)
        ids = [s + [PAD] * (T - len(s)) for s in seqs]
        mask = [[1] * len(s) + [0] * (T - len(s)) for s in seqs]
        with torch.no_grad():
            o = forward(model, torch.tensor(ids), torch.tensor(mask), expand_head_mask(hm, L, H))
        logits = o["logits"]
        out_cases.append({
            "name": name,
            "note": note,
            "batch": len(ids),
            "seq_len": T,
            "input_ids": ids,
            "attention_mask": mask,
            "head_mask": hm,
            "logits": r7(logits),
            "probs": r7(torch.softmax(logits, -1)),
            "predicted": [id2label[str(i)] for i in logits.argmax(-1).tolist()],
            "hidden_states": [r7(h) for h in o["hidden_states"]],
            "attentions": [r7(w) for w in o["attentions"]],
        })

    doc = {
        "format_version": 1,
        "generator": "scripts/make-head-mask-fixture.py",
        "model": "../shared/fixtures/tiny (model.safetensors, upcast to float64)",
        "semantics": "HF modeling_distilbert (transformers 4.x): attention weights = softmax(scores) * head_mask[layer] "
                     "(shape [1, n_heads, 1, 1]); returned attentions are the masked weights; a 1-D mask applies to "
                     "every layer",
        "stored_precision": f"float64 forward, rounded to {SIG} significant digits",
        "torch": torch.__version__,
        "layout": {
            "head_mask": "as passed: [n_layers][n_heads] or [n_heads]",
            "hidden_states": "n_layers+1 entries, each [batch][seq][dim]",
            "attentions": "n_layers entries, each [batch][n_heads][seq][seq]",
        },
        "cases": out_cases,
    }
    os.makedirs(os.path.dirname(a.out), exist_ok=True)
    with open(a.out, "w") as f:
        json.dump(doc, f, separators=(",", ":"))
        f.write("\n")
    print(f"wrote {a.out} ({os.path.getsize(a.out) / 1e3:.0f} kB, {len(out_cases)} cases)")


if __name__ == "__main__":
    main()
