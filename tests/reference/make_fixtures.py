#!/usr/bin/python3
"""Write the PyTorch reference fixtures that the C# tests compare against.

Rerun (needs PyTorch; the Debian package python3-torch is enough, no other packages):

    /usr/bin/python3 tests/reference/make_fixtures.py

Everything it writes goes to tests/reference/fixtures/ and is deterministic (fixed text, torch.manual_seed):

- text.txt: a small ASCII text; the vocabulary is its distinct characters sorted by code point.
- {case}.model.safetensors for each case in CASES: float32 weights under PyTorch's state_dict names for a model
  of modules `embedding` (nn.Embedding), `rnn` (nn.LSTM / nn.GRU / nn.RNN) and `decoder` (nn.Linear), with
  the configuration in __metadata__ (format, cell, nonlinearity, layers, embed, hidden, vocab, tied, dropout).
- {case}.k{k1}_{k2}.grads.safetensors for each case and each (k1, k2) in WINDOWS: for the first UPDATES
  updates of TBPTT(k1, k2) with batch BATCH and the parameters held fixed, the float32 gradient of every
  parameter as `update{i}.{name}` and the update's mean loss as `update{i}.loss` (shape [1]).

TBPTT(k1, k2) as the project's definitions page (adaptive-tbptt.md, section 2) defines it. The text is
batchified like PyTorch's word_language_model: nbatch = len // B,
data = tokens[:nbatch*B].view(B, nbatch).t(), so column b holds tokens[b*nbatch:(b+1)*nbatch]; step t = 1..nbatch-1 reads x_t = data[t-1] and predicts data[t]. The stream
starts from the zero state. Update i happens at t = i*k1 with the gradient of
(1/(k1*B)) * sum_{s=t-k1+1..t} sum_b CE(logits_{s,b}, target_{s,b}), the state h_{t-k2} (every layer, h and c)
being a constant: loss s is backpropagated through the states j with max(t-k2+1, 1) <= j <= s only, and a
loss with s <= t-k2 (possible when k2 < k1) reaches only the decoder. Gradients are computed in float64 from
the stored float32 weights and stored as float32.

- {case}.phi.safetensors for each case: the φ table of bridges/pytorch/tbptt_probe.py on that model and the text
  (PHI_WINDOW lags, PHI_BURN_IN burn-in steps, one sample per offset of PHI_OFFSETS), float64 `phi` [W, S] and
  `mean` [W, state size], with the window, burn-in and offsets in __metadata__. tbptt's own probe must give the
  same tables (tests/LanguageModel.Tests/PyTorchProbeTests.cs).

The script checks itself before writing: TBPTT(T, T) over the whole stream must equal full BPTT, and
TBPTT(K, K) must equal the classic chunked loop that detaches the state between chunks.

The safetensors reader and writer are a few lines of struct + json (no `safetensors` package needed):
tensors sorted by name, data contiguous in that order, the header padded with spaces to 8-byte alignment.
"""

import json
import os
import struct
import sys

import torch
import torch.nn as nn
import torch.nn.functional as F

HERE = os.path.dirname(os.path.abspath(__file__))
OUT = os.path.join(HERE, "fixtures")
sys.path.insert(0, os.path.join(HERE, "..", "..", "bridges", "pytorch"))
import tbptt_probe  # noqa: E402  (the bridge under test)

TEXT = (
    "the cat sat on the mat. the rat ran at the cat.\n"
    "a hen met ten men in the den; the men sent the hen\n"
    "to the tent. then the cat, the rat and the hen sat\n"
    "in the sun and ate a tart.\n"
)

EMBED = 5
HIDDEN = 7
BATCH = 3
UPDATES = 3
WINDOWS = [(4, 4), (3, 5), (5, 2), (2, 7), (6, 6)]
PHI_WINDOW = 12
PHI_BURN_IN = 3
PHI_OFFSETS = [0, 17, 40, 95, 150]

# name -> (cell, nonlinearity, layers, seed)
CASES = {
    "lstm_l1": ("lstm", "tanh", 1, 101),
    "lstm_l2": ("lstm", "tanh", 2, 102),
    "gru_l1": ("gru", "tanh", 1, 103),
    "gru_l2": ("gru", "tanh", 2, 104),
    "elman_l1": ("elman", "tanh", 1, 105),
    "elman_l2": ("elman", "tanh", 2, 106),
    "elman_relu_l1": ("elman", "relu", 1, 107),
}

# ---------------------------------------------------------------------------------------------------------------
# safetensors, minimal

DTYPES = {  # safetensors dtype -> (torch dtype, struct size)
    "F64": torch.float64,
    "F32": torch.float32,
    "F16": torch.float16,
    "BF16": torch.bfloat16,
    "I64": torch.int64,
    "I32": torch.int32,
    "I16": torch.int16,
    "I8": torch.int8,
    "U8": torch.uint8,
    "BOOL": torch.bool,
}
TORCH_TO_DTYPE = {v: k for k, v in DTYPES.items()}


def write_safetensors(path, tensors, metadata=None):
    """tensors: dict name -> torch.Tensor. Sorted by name, contiguous data, header padded to 8 bytes."""
    header = {}
    if metadata:
        header["__metadata__"] = {k: str(metadata[k]) for k in sorted(metadata)}
    chunks = []
    offset = 0
    for name in sorted(tensors):
        t = tensors[name].detach().contiguous().cpu()
        data = t.numpy().astype(t.numpy().dtype.newbyteorder("<"), copy=False).tobytes()
        header[name] = {
            "dtype": TORCH_TO_DTYPE[t.dtype],
            "shape": list(t.shape),
            "data_offsets": [offset, offset + len(data)],
        }
        chunks.append(data)
        offset += len(data)
    raw = json.dumps(header, separators=(",", ":")).encode("utf-8")
    raw += b" " * ((8 - len(raw) % 8) % 8)
    tmp = path + ".tmp"
    with open(tmp, "wb") as f:
        f.write(struct.pack("<Q", len(raw)))
        f.write(raw)
        for c in chunks:
            f.write(c)
        f.flush()
        os.fsync(f.fileno())
    os.replace(tmp, path)


def read_safetensors(path):
    """Returns (dict name -> torch.Tensor in file order, metadata dict). Raises ValueError on a malformed file."""
    with open(path, "rb") as f:
        blob = f.read()
    if len(blob) < 8:
        raise ValueError(f"{path}: too short for a safetensors file ({len(blob)} bytes)")
    (n,) = struct.unpack("<Q", blob[:8])
    if n > len(blob) - 8:
        raise ValueError(f"{path}: header length {n} is larger than the file")
    header = json.loads(blob[8 : 8 + n].decode("utf-8"))
    data = blob[8 + n :]
    metadata = header.pop("__metadata__", {}) or {}
    tensors = {}
    for name, info in sorted(header.items(), key=lambda kv: kv[1]["data_offsets"][0]):
        dtype = DTYPES.get(info["dtype"])
        if dtype is None:
            raise ValueError(f"{path}: tensor '{name}' has unsupported dtype {info['dtype']}")
        begin, end = info["data_offsets"]
        if not 0 <= begin <= end <= len(data):
            raise ValueError(f"{path}: tensor '{name}' has offsets [{begin}, {end}] outside the data")
        shape = [int(d) for d in info["shape"]]
        t = torch.frombuffer(bytearray(data[begin:end]), dtype=dtype) if end > begin else torch.empty(0, dtype=dtype)
        numel = 1
        for d in shape:
            numel *= d
        if t.numel() != numel:
            raise ValueError(f"{path}: tensor '{name}' has {end - begin} bytes for shape {shape}")
        tensors[name] = t.reshape(shape).clone()
    return tensors, metadata


# ---------------------------------------------------------------------------------------------------------------
# the model


class CharModel(nn.Module):
    """embedding -> rnn (seq-first) -> decoder; state_dict names match the C# checkpoints."""

    def __init__(self, cell, nonlinearity, layers, vocab, embed, hidden):
        super().__init__()
        self.cell = cell
        self.embedding = nn.Embedding(vocab, embed)
        if cell == "lstm":
            self.rnn = nn.LSTM(embed, hidden, layers)
        elif cell == "gru":
            self.rnn = nn.GRU(embed, hidden, layers)
        elif cell == "elman":
            self.rnn = nn.RNN(embed, hidden, layers, nonlinearity=nonlinearity)
        else:
            raise ValueError(f"unknown cell '{cell}'")
        self.decoder = nn.Linear(hidden, vocab)

    def zero_state(self, batch):
        z = torch.zeros(self.rnn.num_layers, batch, self.rnn.hidden_size, dtype=self.decoder.weight.dtype)
        return (z, z.clone()) if self.cell == "lstm" else z

    def forward(self, x, state):
        """x: [T, B] token ids; returns logits [T, B, V], top-layer outputs [T, B, H], final state."""
        out, state = self.rnn(self.embedding(x), state)
        return self.decoder(out), out, state


def detach(state):
    return tuple(s.detach() for s in state) if isinstance(state, tuple) else state.detach()


def model_metadata(cell, nonlinearity, layers, vocab):
    return {
        "format": "tbptt",
        "cell": cell,
        "nonlinearity": nonlinearity,
        "layers": str(layers),
        "embed": str(EMBED),
        "hidden": str(HIDDEN),
        "vocab": vocab,
        "tied": "false",
        "dropout": "0",
    }


def batchify(tokens, batch):
    nbatch = tokens.numel() // batch
    return tokens[: nbatch * batch].view(batch, nbatch).t().contiguous()  # [nbatch, B]


# ---------------------------------------------------------------------------------------------------------------
# TBPTT(k1, k2), straight from the definition


def tbptt_grads(model, data, k1, k2, updates):
    """Returns a list of (loss, {param name: grad}) for updates 1..updates. data: [nbatch, B] token ids."""
    steps = data.shape[0] - 1
    batch = data.shape[1]
    if updates * k1 > steps:
        raise ValueError(f"{updates} updates of k1 = {k1} need {updates * k1} steps, the stream has {steps}")
    # states[j] = state after step j (states[0] = zero state); tops[j] = top-layer output of step j.
    states, tops = [model.zero_state(batch)], [None]
    with torch.no_grad():
        for t in range(1, steps + 1):
            _, out, state = model(data[t - 1 : t], states[-1])
            states.append(state)
            tops.append(out[0])
    results = []
    for i in range(1, updates + 1):
        t = i * k1
        start = max(t - k2 + 1, 1)  # first step backpropagated through
        model.zero_grad(set_to_none=True)
        _, out, _ = model(data[start - 1 : t], detach(states[start - 1]))  # steps start..t with graph
        total = 0.0
        for s in range(t - k1 + 1, t + 1):
            h = out[s - start] if s >= start else tops[s]  # s < start: the state is a constant
            total = total + F.cross_entropy(model.decoder(h), data[s], reduction="sum")
        loss = total / (k1 * batch)
        loss.backward()
        grads = {name: p.grad.detach().clone() for name, p in model.named_parameters()}
        results.append((loss.item(), grads))
    return results


def full_bptt_grads(model, data):
    """Ordinary full BPTT over the whole stream from the zero state, mean loss over T*B terms."""
    model.zero_grad(set_to_none=True)
    logits, _, _ = model(data[:-1], model.zero_state(data.shape[1]))
    loss = F.cross_entropy(logits.reshape(-1, logits.shape[-1]), data[1:].reshape(-1))
    loss.backward()
    return loss.item(), {name: p.grad.detach().clone() for name, p in model.named_parameters()}


def chunked_grads(model, data, k, updates):
    """The classic PyTorch tutorial loop: chunks of k steps, state detached between chunks."""
    results = []
    state = model.zero_state(data.shape[1])
    for i in range(updates):
        model.zero_grad(set_to_none=True)
        x, y = data[i * k : (i + 1) * k], data[i * k + 1 : (i + 1) * k + 1]
        logits, _, state = model(x, detach(state))
        loss = F.cross_entropy(logits.reshape(-1, logits.shape[-1]), y.reshape(-1))
        loss.backward()
        results.append((loss.item(), {name: p.grad.detach().clone() for name, p in model.named_parameters()}))
    return results


def assert_same(a, b, what):
    (la, ga), (lb, gb) = a, b
    assert abs(la - lb) <= 1e-12 * max(1.0, abs(la)), f"{what}: loss {la} != {lb}"
    for name in ga:
        err = (ga[name] - gb[name]).abs().max().item()
        scale = max(1.0, gb[name].abs().max().item())
        assert err <= 1e-12 * scale, f"{what}: gradient of {name} differs by {err}"


# ---------------------------------------------------------------------------------------------------------------


def main():
    os.makedirs(OUT, exist_ok=True)
    with open(os.path.join(OUT, "text.txt"), "w", encoding="utf-8", newline="\n") as f:
        f.write(TEXT)
    vocab = "".join(sorted(set(TEXT)))
    tokens = torch.tensor([vocab.index(c) for c in TEXT], dtype=torch.long)
    data = batchify(tokens, BATCH)
    steps = data.shape[0] - 1
    print(f"text: {len(TEXT)} characters, vocabulary {len(vocab)}: {vocab!r}")
    print(f"batch {BATCH}: {data.shape[0]} rows, {steps} steps; embed {EMBED}, hidden {HIDDEN}")

    written = ["text.txt"]
    for case, (cell, nonlinearity, layers, seed) in CASES.items():
        torch.manual_seed(seed)
        model = CharModel(cell, nonlinearity, layers, len(vocab), EMBED, HIDDEN)
        with torch.no_grad():
            model.embedding.weight.mul_(0.5)
        state32 = {k: v.detach().clone().float() for k, v in model.state_dict().items()}
        model_file = f"{case}.model.safetensors"
        write_safetensors(os.path.join(OUT, model_file), state32,
                          model_metadata(cell, nonlinearity, layers, vocab))
        written.append(model_file)

        # Reload what was written and compute in float64 from exactly those float32 weights.
        loaded, meta = read_safetensors(os.path.join(OUT, model_file))
        assert meta == model_metadata(cell, nonlinearity, layers, vocab)
        model.load_state_dict(loaded, strict=True)
        model.double()

        # Self-checks: TBPTT(T, T) is full BPTT; TBPTT(K, K) is the detach-between-chunks loop.
        assert_same(tbptt_grads(model, data, steps, steps, 1)[0], full_bptt_grads(model, data),
                    f"{case}: TBPTT(T, T) vs full BPTT")
        for a, b in zip(tbptt_grads(model, data, 4, 4, UPDATES), chunked_grads(model, data, 4, UPDATES)):
            assert_same(a, b, f"{case}: TBPTT(4, 4) vs chunked")

        for k1, k2 in WINDOWS:
            tensors = {}
            losses = []
            for i, (loss, grads) in enumerate(tbptt_grads(model, data, k1, k2, UPDATES), start=1):
                for name, g in grads.items():
                    tensors[f"update{i}.{name}"] = g.float()
                tensors[f"update{i}.loss"] = torch.tensor([loss], dtype=torch.float32)
                losses.append(loss)
            name = f"{case}.k{k1}_{k2}.grads.safetensors"
            write_safetensors(os.path.join(OUT, name), tensors, {
                "k1": str(k1), "k2": str(k2), "batch": str(BATCH), "updates": str(UPDATES), "model": model_file,
            })
            written.append(name)
            print(f"{name}: losses " + " ".join(f"{l:.6f}" for l in losses))

        phi, mean = tbptt_probe.probe(model.embedding, model.rnn, model.decoder, tokens, PHI_WINDOW,
                                      burn_in=PHI_BURN_IN, offsets=PHI_OFFSETS)
        name = f"{case}.phi.safetensors"
        write_safetensors(os.path.join(OUT, name), {"phi": phi, "mean": mean}, {
            "window": str(PHI_WINDOW), "burn_in": str(PHI_BURN_IN), "offsets": ",".join(map(str, PHI_OFFSETS)),
            "model": model_file,
        })
        written.append(name)
        print(f"{name}: phi[0] " + " ".join(f"{x:.4g}" for x in phi[0].tolist()) + f", phi[{PHI_WINDOW - 1}] {phi[-1, 0]:.4g}…")

    total = sum(os.path.getsize(os.path.join(OUT, f)) for f in written)
    print(f"wrote {len(written)} files to {OUT} ({total} bytes); self-checks passed")


if __name__ == "__main__":
    sys.exit(main())
