#!/usr/bin/env python3
"""The float64 side of scripts/make-full-shape-expected.mjs (run that script, not this one).

Reads DIR/config.json, DIR/model.safetensors and DIR/cases.json, runs the shared float64 PyTorch mirror of Hugging
Face's DistilBertForSequenceClassification (../shared/tools/reference/distilbert_ref.py, with its own safetensors
reader) on every case, and prints JSON: logits, probs, the chosen hidden-state rows and attention rows, and per-layer
statistics (mean and mean square over every unmasked row) of the hidden states. Numbers keep 8 significant digits:
the rounding (5e-9 relative) is far below anything the tests gate.

Needs torch (Debian: apt-get install python3-torch, then /usr/bin/python3).
"""
import json
import os
import sys

import torch

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
REF_DIR = os.path.join(ROOT, "..", "shared", "tools", "reference")
sys.path.insert(0, REF_DIR)
from distilbert_ref import load_model_dir  # noqa: E402


def r8(xs):
    return [float(f"{x:.8g}") for x in xs]


def main():
    d = sys.argv[1]
    torch.set_num_threads(max(1, min(2, torch.get_num_threads())))
    model = load_model_dir(d, dtype=torch.float64)
    with open(os.path.join(d, "cases.json")) as f:
        cases = json.load(f)
    out = []
    with torch.no_grad():
        for c in cases:
            ids = torch.tensor(c["input_ids"], dtype=torch.long)
            mask = torch.tensor(c["attention_mask"], dtype=torch.long)
            o = model(ids, mask)
            logits = o["logits"]
            probs = torch.softmax(logits, dim=-1)
            hs = o["hidden_states"]
            att = o["attentions"]
            on = mask.bool()
            stats = []
            for h in hs:
                rows = h[on]  # [unmasked rows, dim]
                stats.append({"mean": float(f"{float(rows.mean()):.12g}"), "mean_square": float(f"{float((rows * rows).mean()):.12g}")})
            out.append({
                "logits": [r8(row) for row in logits.tolist()],
                "probs": [r8(row) for row in probs.tolist()],
                "hidden": [[r8(h[b, t].tolist()) for (b, t) in c["hidden_rows"]] for h in hs],
                "hidden_stats": stats,
                "attention": [r8(att[l][b, hd, q].tolist()) for (l, b, hd, q) in c["attention_rows"]],
            })
    print(json.dumps({
        "reference": {
            "code": "../shared/tools/reference/distilbert_ref.py (load_model_dir, float64)",
            "torch": torch.__version__,
            "dtype": "float64",
            "significant_digits": 8,
        },
        "cases": out,
    }))


if __name__ == "__main__":
    main()
