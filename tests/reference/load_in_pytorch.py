#!/usr/bin/python3
"""Check that a model checkpoint written by the C# side loads into PyTorch.

Usage:
    /usr/bin/python3 tests/reference/load_in_pytorch.py MODEL.safetensors [--allow-extra]

Reads the configuration from __metadata__ (cell, nonlinearity, layers, embed, hidden, vocab, tied, dropout),
builds nn.Embedding -> nn.LSTM | nn.GRU | nn.RNN -> nn.Linear as `embedding`, `rnn`, `decoder`, loads the
tensors with load_state_dict(strict=True), runs one forward pass over the vocabulary in order from the zero
state and prints a one-line summary. Any problem (bad file, missing or unexpected tensor, wrong shape, bad
metadata, non-finite output) prints one line to stderr and exits with status 1.

Tensors outside the modules embedding./encoder./rnn./decoder. (for example optimizer state in a training
checkpoint) are an error unless --allow-extra is given. `encoder.weight` is accepted for `embedding.weight`.
"""

import math
import os
import sys

sys.dont_write_bytecode = True
sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))

import torch  # noqa: E402
import torch.nn.functional as F  # noqa: E402

from make_fixtures import CharModel, read_safetensors  # noqa: E402

MODEL_PREFIXES = ("embedding.", "encoder.", "rnn.", "decoder.")


def fail(message):
    print(f"error: {message}", file=sys.stderr)
    sys.exit(1)


def require(meta, key, path):
    if key not in meta:
        fail(f"{path}: __metadata__ has no '{key}' (has: {', '.join(sorted(meta)) or 'nothing'})")
    return meta[key]


def to_int(meta, key, path):
    value = require(meta, key, path)
    try:
        n = int(value)
    except ValueError:
        fail(f"{path}: __metadata__ '{key}' = {value!r} is not an integer")
    if n < 1:
        fail(f"{path}: __metadata__ '{key}' = {n} must be at least 1")
    return n


def main(argv):
    args = [a for a in argv if not a.startswith("--")]
    allow_extra = "--allow-extra" in argv
    unknown = [a for a in argv if a.startswith("--") and a != "--allow-extra"]
    if len(args) != 1 or unknown:
        fail("usage: load_in_pytorch.py MODEL.safetensors [--allow-extra]")
    path = args[0]
    if not os.path.isfile(path):
        fail(f"{path}: no such file")
    try:
        tensors, meta = read_safetensors(path)
    except (ValueError, KeyError, TypeError, UnicodeDecodeError) as e:
        fail(f"{path}: not a valid safetensors file: {e}")

    cell = require(meta, "cell", path)
    nonlinearity = meta.get("nonlinearity", "tanh")
    if cell not in ("lstm", "gru", "elman"):
        fail(f"{path}: unknown cell {cell!r}")
    if nonlinearity not in ("tanh", "relu"):
        fail(f"{path}: nonlinearity {nonlinearity!r} has no nn.RNN equivalent")
    if meta.get("tied", "false") != "false":
        fail(f"{path}: tied = {meta['tied']!r}: tied weights are not supported by this check")
    layers, embed, hidden = (to_int(meta, k, path) for k in ("layers", "embed", "hidden"))
    vocab = require(meta, "vocab", path)
    if not vocab:
        fail(f"{path}: empty vocabulary")
    if meta.get("format", "tbptt") != "tbptt":
        fail(f"{path}: format {meta['format']!r}, expected 'tbptt'")

    state = {}
    extra = []
    for name, t in tensors.items():
        if not name.startswith(MODEL_PREFIXES):
            extra.append(name)
            continue
        key = "embedding." + name[len("encoder."):] if name.startswith("encoder.") else name
        if key in state:
            fail(f"{path}: both embedding.* and encoder.* hold '{key}'")
        if not t.is_floating_point():
            fail(f"{path}: tensor '{name}' has integer dtype {t.dtype}")
        state[key] = t
    if extra and not allow_extra:
        fail(f"{path}: tensors outside the model: {', '.join(extra)} (pass --allow-extra to ignore them)")

    model = CharModel(cell, nonlinearity, layers, len(vocab), embed, hidden)
    model.rnn.dropout = float(meta.get("dropout", "0"))
    try:
        model.load_state_dict(state, strict=True)
    except RuntimeError as e:
        fail(f"{path}: load_state_dict(strict=True) failed: " + " ".join(str(e).split()))
    model.eval()

    tokens = torch.arange(len(vocab)).view(-1, 1)  # [V, 1]
    with torch.no_grad():
        logits, _, _ = model(tokens, model.zero_state(1))
    if not torch.isfinite(logits).all():
        fail(f"{path}: the forward pass produced non-finite logits")
    loss = F.cross_entropy(logits[:-1, 0], tokens[1:, 0]).item() if len(vocab) > 1 else float("nan")
    params = sum(p.numel() for p in model.parameters())
    print(f"ok: {os.path.basename(path)}: cell={cell} nonlinearity={nonlinearity} layers={layers} embed={embed} "
          f"hidden={hidden} vocab={len(vocab)} params={params} tensors={len(state)}"
          + (f" ignored={len(extra)}" if extra else "")
          + f" loss={loss:.6f} (uniform {math.log(len(vocab)):.6f})")
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
