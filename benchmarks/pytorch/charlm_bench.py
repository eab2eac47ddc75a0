#!/usr/bin/python3
"""The character LSTM language model of `tbptt bench charlm`, in PyTorch, for benchmarks/compare.sh (issue 6).

Identical configuration: nn.Embedding(V, E) -> nn.LSTM(E, H, layers) -> nn.Linear(H, V), TBPTT(K, K) (the
state is carried between chunks and detached, so each update backpropagates K steps), mean cross-entropy over
the K*B predictions of a chunk, SGD (lr 1) with clip_grad_norm_(0.25), torch.set_num_threads(threads).
Warm-up (at least --warmup updates and 1 s, untimed), then --seconds timed; prints one line of JSON with the
same keys as `tbptt bench charlm`.

FLOPs per token = 3 x forward multiply-adds x 2 with forward multiply-adds
F = sum_l 4H(In_l + H) + H*V (In_0 = E, In_l = H above; embedding lookup, biases, gates, softmax not counted).

Run with Debian's interpreter (python3-torch 1.13): /usr/bin/python3 benchmarks/pytorch/charlm_bench.py --hidden 512
"""
import argparse
import datetime
import json
import os
import platform
import re
import resource
import time

import torch
import torch.nn as nn


class CharLM(nn.Module):
    def __init__(self, vocab, embed, hidden, layers):
        super().__init__()
        self.embedding = nn.Embedding(vocab, embed)
        self.rnn = nn.LSTM(embed, hidden, layers)  # (seq, batch, feature): step-major like the engine
        self.decoder = nn.Linear(hidden, vocab)

    def forward(self, x, state):
        out, state = self.rnn(self.embedding(x), state)
        return self.decoder(out), state


def forward_multiply_adds_per_token(hidden, embed, layers, vocab):
    f = sum(4 * hidden * ((embed if l == 0 else hidden) + hidden) for l in range(layers))
    return f + hidden * vocab


def blas_name():
    """'pytorch-' + the BLAS torch was built against (BLAS_INFO in torch.__config__.show()), else 'pytorch'."""
    try:
        m = re.search(r"BLAS_INFO=([^,\s]+)", torch.__config__.show())
        return "pytorch-" + m.group(1) if m else "pytorch"
    except Exception:  # noqa: BLE001 - only a label
        return "pytorch"


def machine():
    cpu = platform.machine()
    try:
        with open("/proc/cpuinfo", encoding="utf-8") as f:
            for line in f:
                if line.startswith("model name") and ":" in line:
                    cpu = line.split(":", 1)[1].strip()
                    break
    except OSError:
        pass
    return {"cores": os.cpu_count(), "os": platform.platform(), "cpu": cpu}


def token_stream(args):
    """[rows, B] token ids: the corpus batchified into B columns, or seeded random tokens (16 chunks per pass)."""
    g = torch.Generator().manual_seed(args.seed)
    if args.corpus:
        with open(args.corpus, encoding="utf-8") as f:
            text = f.read()
        chars = sorted(set(text))
        ids = {c: i for i, c in enumerate(chars)}
        data = torch.tensor([ids[c] for c in text], dtype=torch.long)
        rows = data.numel() // args.batch
        return data[: rows * args.batch].view(args.batch, rows).t().contiguous(), len(chars)
    rows = 16 * args.k + 1
    return torch.randint(args.vocab, (rows, args.batch), generator=g, dtype=torch.long), args.vocab


def main():
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--hidden", type=int, default=512)
    p.add_argument("--batch", type=int, default=32)
    p.add_argument("--k", type=int, default=50)
    p.add_argument("--seconds", type=float, default=10.0)
    p.add_argument("--embed", type=int, default=64)
    p.add_argument("--layers", type=int, default=1)
    p.add_argument("--vocab", type=int, default=65)
    p.add_argument("--threads", type=int, default=os.cpu_count())
    p.add_argument("--corpus", default=None)
    p.add_argument("--warmup", type=int, default=3)
    p.add_argument("--lr", type=float, default=1.0)
    p.add_argument("--clip", type=float, default=0.25)
    p.add_argument("--seed", type=int, default=1)
    args = p.parse_args()

    torch.set_num_threads(args.threads)
    torch.manual_seed(args.seed)
    data, vocab = token_stream(args)
    rows, k, b = data.size(0), args.k, args.batch
    if rows < k + 1:
        raise SystemExit(f"the stream holds {rows} steps per column; TBPTT({k}, {k}) needs at least {k + 1}")
    model = CharLM(vocab, args.embed, args.hidden, args.layers)
    opt = torch.optim.SGD(model.parameters(), lr=args.lr)
    loss_fn = nn.CrossEntropyLoss()  # mean over the K*B predictions, as the engine's 1/(k1*B)
    state = None
    cursor = 0
    last_loss = float("nan")

    def update():
        nonlocal state, cursor, last_loss
        if cursor + k + 1 > rows:
            cursor, state = 0, None  # a new pass starts from the zero state
        x = data[cursor: cursor + k]
        y = data[cursor + 1: cursor + k + 1]
        opt.zero_grad(set_to_none=False)
        logits, state = model(x, state)
        loss = loss_fn(logits.view(-1, vocab), y.reshape(-1))
        loss.backward()
        state = tuple(s.detach() for s in state)  # TBPTT(K, K): the next chunk starts from a constant state
        nn.utils.clip_grad_norm_(model.parameters(), args.clip)
        opt.step()
        last_loss = loss.item()
        cursor += k

    start = time.perf_counter()
    i = 0
    while i < args.warmup or time.perf_counter() - start < 1.0:
        update()
        i += 1

    updates = 0
    start = time.perf_counter()
    while time.perf_counter() - start < args.seconds:
        update()
        updates += 1
    elapsed = time.perf_counter() - start

    tokens = updates * k * b
    fma = forward_multiply_adds_per_token(args.hidden, args.embed, args.layers, vocab)
    result = {
        "charsPerSecond": tokens / elapsed,
        "gflops": 6.0 * fma * tokens / elapsed / 1e9,
        "blas": blas_name(),
        "blasDescription": f"torch {torch.__version__}, {torch.get_num_threads()} threads",
        "peakMemoryBytes": resource.getrusage(resource.RUSAGE_SELF).ru_maxrss * 1024,
        "peakMemoryKind": "peak resident set size of the process (ru_maxrss): Python, torch and its buffers",
        "hidden": args.hidden,
        "batch": b,
        "k": k,
        "embed": args.embed,
        "layers": args.layers,
        "vocab": vocab,
        "updates": updates,
        "seconds": elapsed,
        "flopsPerToken": 6.0 * fma,
        "allocatedBytesPerUpdate": None,  # not measurable from Python
        "lastLoss": last_loss,
        "threads": args.threads,
        "corpus": args.corpus or "random",
        "machine": machine(),
        "runtime": f"Python {platform.python_version()}, torch {torch.__version__}",
        "date": datetime.datetime.now(datetime.timezone.utc).strftime("%Y-%m-%dT%H:%M:%SZ"),
    }
    print(json.dumps(result, ensure_ascii=False))


if __name__ == "__main__":
    main()
