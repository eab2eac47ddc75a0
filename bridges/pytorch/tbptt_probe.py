"""The gradient-norm probe of tbptt for PyTorch models: the φ table `tbptt estimate-k` reads.

Needs PyTorch only. For a model made of an embedding (any module mapping token ids [S] to vectors [S, E]), an
`nn.LSTM`, `nn.GRU` or `nn.RNN` (any number of layers, seq-first or batch_first) and a decoder (any module
mapping the top layer's hidden vectors [S, H] to logits [S, V]), it measures, exactly as tbptt's own probe does
(docs/adaptive-tbptt.md §3 in the tbptt repository):

- from the zero state, S sample windows of the token stream run a burn-in of b steps without gradients, then W
  steps one at a time; only the loss of the last step, L_W (cross-entropy, each sample's own, unscaled), is
  backpropagated;
- phi[k, s] = ‖∂L_W/∂h_{W−k}‖₂ for lags k = 0..W−1, where h_{W−k} is the state after step W−k *as passed to the
  next step*: every layer's h (and, for an LSTM, c) concatenated, each layer's part receiving the gradient that
  flows back through that layer's own recurrence (the "state view"). Lag 0 is the state after the last step,
  whose only gradient is the decoder's, on the top layer's h;
- mean[k] = the mean over samples of those gradient vectors (layer by layer: h, then c), for the exact
  cumulative norm (`estimate-k --cumulative exact`).

Use:

    from tbptt_probe import probe, write_norms_csv
    phi, mean = probe(model.embedding, model.rnn, model.decoder, tokens, window=100, samples=64, seed=epoch)
    write_norms_csv("norms.csv", phi)           # then: tbptt estimate-k --norms norms.csv --delta 0.1 --json

`tokens` is one stream of token ids (a 1-D LongTensor): step t reads tokens[t] and predicts tokens[t + 1].
"""

import torch
import torch.nn as nn
import torch.nn.functional as F

__all__ = ["probe", "random_offsets", "write_norms_csv", "write_mean_csv"]


def random_offsets(stream_length, window, burn_in, samples, generator=None):
    """S random window starts: each sample needs burn_in + window inputs and the target after them."""
    span = burn_in + window
    if stream_length < span + 1:
        raise ValueError(f"the stream has {stream_length} tokens; a probe sample needs burn-in + W + 1 = {span + 1}")
    return torch.randint(0, stream_length - span, (samples,), generator=generator).tolist()


def probe(embedding, rnn, decoder, tokens, window, samples=64, burn_in=None, offsets=None, seed=0):
    """Returns (phi, mean): phi [W, S] and mean [W, state size], float64 tensors, as tbptt's probe computes them.

    burn_in defaults to W // 10; offsets (one start per sample) default to random ones drawn with `seed`. The
    modules are put in eval mode for the probe (no dropout) and restored; parameter gradients are not touched.
    """
    if not isinstance(rnn, (nn.LSTM, nn.GRU, nn.RNN)):
        raise TypeError(f"rnn must be nn.LSTM, nn.GRU or nn.RNN, not {type(rnn).__name__}")
    if rnn.bidirectional or getattr(rnn, "proj_size", 0):
        raise ValueError("bidirectional or projected RNNs have no single forward state to probe")
    tokens = torch.as_tensor(tokens, dtype=torch.long).flatten()
    w = int(window)
    b = w // 10 if burn_in is None else int(burn_in)
    if w < 2 or b < 0:
        raise ValueError(f"need W >= 2 and burn-in >= 0, got W = {w}, burn-in = {b}")
    if offsets is None:
        offsets = random_offsets(tokens.numel(), w, b, samples, torch.Generator().manual_seed(seed))
    starts = torch.as_tensor(offsets, dtype=torch.long)
    if (starts < 0).any() or (starts + b + w + 1 > tokens.numel()).any():
        raise ValueError(f"every offset needs tokens [offset, offset + {b + w + 1}) within the stream of {tokens.numel()}")
    s = starts.numel()
    lstm = isinstance(rnn, nn.LSTM)
    dtype = next(rnn.parameters()).dtype

    modules = [embedding, rnn, decoder]
    modes = [m.training for m in modules]
    for m in modules:
        m.eval()
    try:
        def step(t, state):
            x = embedding(tokens[starts + t]).unsqueeze(1 if rnn.batch_first else 0)  # one step of S samples
            _, state = rnn(x, state)
            return state

        zero = torch.zeros(rnn.num_layers, s, rnn.hidden_size, dtype=dtype)
        state = (zero, zero.clone()) if lstm else zero
        with torch.no_grad():
            for t in range(b):
                state = step(t, state)
        state = tuple(x.detach() for x in state) if lstm else state.detach()

        passed = []  # the state after each of the W steps, as handed to the next
        for t in range(b, b + w):
            state = step(t, state)
            passed.append(state if lstm else (state,))
        logits = decoder(passed[-1][0][-1])  # the top layer's h after the last step
        loss = F.cross_entropy(logits, tokens[starts + b + w], reduction="sum")  # each sample's own loss
        flat = [x for st in passed for x in st]
        grads = torch.autograd.grad(loss, flat, allow_unused=True)
    finally:
        for m, mode in zip(modules, modes):
            m.train(mode)

    parts = 2 if lstm else 1
    phi = torch.empty(w, s, dtype=torch.float64)
    mean = []
    for k in range(w):
        i = w - 1 - k  # lag k is the state after step W − k
        g = [grads[i * parts + p] for p in range(parts)]
        g = [torch.zeros_like(flat[i * parts + p]) if x is None else x for p, x in enumerate(g)]
        # per sample: layer by layer, h then c — the layout of tbptt's state
        per_layer = [torch.cat([x[l] for x in g], dim=1) for l in range(rnn.num_layers)]  # each [S, parts·H]
        v = torch.cat(per_layer, dim=1).double()  # [S, state size]
        phi[k] = v.norm(dim=1)
        mean.append(v.mean(dim=0))
    return phi.detach(), torch.stack(mean).detach()


def write_norms_csv(path, phi, offsets=None):
    """The CSV `tbptt estimate-k --norms` reads: one row per lag, one column per sample, with a header."""
    w, s = phi.shape
    header = [f"sample{i}" if offsets is None else f"sample{i}@{offsets[i]}" for i in range(s)]
    with open(path, "w", encoding="utf-8") as f:
        f.write(",".join(header) + "\n")
        for k in range(w):
            f.write(",".join(repr(float(x)) for x in phi[k]) + "\n")


def write_mean_csv(path, mean):
    """The per-lag mean gradient vectors, one row per lag (`estimate-k --mean-gradients`)."""
    with open(path, "w", encoding="utf-8") as f:
        for row in mean:
            f.write(",".join(repr(float(x)) for x in row) + "\n")
