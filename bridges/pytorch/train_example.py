"""A PyTorch training loop that asks `tbptt estimate-k` for its truncation length K every epoch.

    /usr/bin/python3 bridges/pytorch/train_example.py --epochs 3

A character LSTM on tiny-Shakespeare (datasets/tinyshakespeare/input.txt) trained with TBPTT(K, K) in the usual
PyTorch way; before each epoch tbptt_probe.py measures φ at the current weights, writes the CSV, and
`tbptt estimate-k --delta D --json` says which K keeps the estimated relative gradient bias below D (Algorithm 1
of Aicher, Foti & Fox with one probe per epoch). The tool runs as $TBPTT if set, else the Release build of this
repository (dotnet src/Tbptt.Cli/bin/Release/net10.0/tbptt.dll; build it first), else `tbptt` on the PATH.
"""

import argparse
import json
import os
import shlex
import subprocess
import sys
import tempfile

import torch
import torch.nn as nn
import torch.nn.functional as F

HERE = os.path.dirname(os.path.abspath(__file__))
ROOT = os.path.abspath(os.path.join(HERE, "..", ".."))
sys.path.insert(0, HERE)
from tbptt_probe import probe, write_norms_csv  # noqa: E402


class CharModel(nn.Module):
    def __init__(self, vocab, embed, hidden, layers):
        super().__init__()
        self.embedding = nn.Embedding(vocab, embed)
        self.rnn = nn.LSTM(embed, hidden, layers)
        self.decoder = nn.Linear(hidden, vocab)

    def forward(self, x, state):
        out, state = self.rnn(self.embedding(x), state)
        return self.decoder(out), state


def tbptt_command():
    if os.environ.get("TBPTT"):
        return shlex.split(os.environ["TBPTT"])
    dll = os.path.join(ROOT, "src", "Tbptt.Cli", "bin", "Release", "net10.0", "tbptt.dll")
    return ["dotnet", dll] if os.path.exists(dll) else ["tbptt"]


def estimate_k(model, stream, delta, window, samples, kmin, kmax, seed):
    phi, _ = probe(model.embedding, model.rnn, model.decoder, stream, window, samples=samples, seed=seed)
    with tempfile.TemporaryDirectory() as tmp:
        csv = os.path.join(tmp, "norms.csv")
        write_norms_csv(csv, phi)
        out = subprocess.run(tbptt_command() + ["estimate-k", "--norms", csv, "--delta", str(delta), "--kmin", str(kmin),
                                                "--kmax", str(min(kmax, window)), "--json"], capture_output=True, text=True)
    if out.returncode != 0:
        sys.exit(f"tbptt estimate-k failed: {out.stderr.strip()}")
    result = json.loads(out.stdout)
    for message in result["diagnostics"]:
        print(f"  estimate-k: {message}")
    return result["kByDelta"][str(delta)], result["beta"]


def main():
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--corpus", default=os.path.join(ROOT, "datasets", "tinyshakespeare", "input.txt"))
    p.add_argument("--chars", type=int, default=200_000, help="characters of the corpus to train on")
    p.add_argument("--epochs", type=int, default=3)
    p.add_argument("--delta", type=float, default=0.1)
    p.add_argument("--k0", type=int, default=20)
    p.add_argument("--kmin", type=int, default=5)
    p.add_argument("--kmax", type=int, default=100)
    p.add_argument("--window", type=int, default=100, help="probe window W")
    p.add_argument("--samples", type=int, default=32, help="probe samples S")
    p.add_argument("--batch", type=int, default=32)
    p.add_argument("--hidden", type=int, default=128)
    p.add_argument("--lr", type=float, default=2e-3)
    args = p.parse_args()

    torch.manual_seed(1)
    text = open(args.corpus, encoding="utf-8").read()[: args.chars]
    vocab = sorted(set(text))
    stream = torch.tensor([vocab.index(c) for c in text], dtype=torch.long)
    rows = stream.numel() // args.batch
    data = stream[: rows * args.batch].view(args.batch, rows).t().contiguous()  # [rows, B], step-major
    model = CharModel(len(vocab), 32, args.hidden, 1)
    optimizer = torch.optim.Adam(model.parameters(), lr=args.lr)

    k = args.k0
    for epoch in range(1, args.epochs + 1):
        if epoch > 1:  # re-estimate between epochs, as the paper did between evaluation rounds
            k, beta = estimate_k(model, stream, args.delta, args.window, args.samples, args.kmin, args.kmax, seed=epoch)
            print(f"epoch {epoch}: tbptt estimate-k says K = {k} (β̂ = {beta:.3f}, δ = {args.delta})")
        model.train()
        state, total, count = None, 0.0, 0
        for t in range(0, rows - 1 - k, k):
            # TBPTT(K, K), the chunked form of PyTorch's tutorials: the state entering a chunk is held constant.
            # (The paper trains with TBPTT(K, 2K − 1); tbptt's engine does that, docs/adaptive-tbptt.md §2.)
            logits, state = model(data[t: t + k], state)
            loss = F.cross_entropy(logits.reshape(-1, len(vocab)), data[t + 1: t + k + 1].reshape(-1))
            optimizer.zero_grad()
            loss.backward()
            nn.utils.clip_grad_norm_(model.parameters(), 1.0)
            optimizer.step()
            state = tuple(s.detach() for s in state)
            total, count = total + loss.item(), count + 1
        print(f"epoch {epoch}: K = {k}, TBPTT({k}, {k}), mean train loss {total / count:.3f} nats/char")


if __name__ == "__main__":
    main()
