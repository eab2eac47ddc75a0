"""Prints PyTorch's SGD/Adam/AdamW/clip trajectories that tests/AdaptiveTbptt.Tests/Optimizers/OptimizerTests.cs embeds.
Rerun: /usr/bin/python3 tests/reference/optimizer_reference.py"""
import torch
torch.set_default_dtype(torch.float64)
theta0 = [0.5, -1.25, 2.0, 0.0]
grads = [[0.1, -0.2, 0.3, 1.5], [-0.4, 0.05, 0.2, -1.0], [0.3, 0.3, -0.6, 0.25]]
def run(make):
    p = torch.nn.Parameter(torch.tensor(theta0))
    opt = make([p])
    for g in grads:
        p.grad = torch.tensor(g)
        opt.step()
    return [round(float(v), 17) for v in p.detach()]
print("sgd_momentum", run(lambda ps: torch.optim.SGD(ps, lr=0.1, momentum=0.9, weight_decay=0.01)))
print("sgd_nesterov", run(lambda ps: torch.optim.SGD(ps, lr=0.1, momentum=0.5, nesterov=True)))
print("adam", run(lambda ps: torch.optim.Adam(ps, lr=0.01, betas=(0.8, 0.99), eps=1e-6, weight_decay=0.1)))
print("adamw", run(lambda ps: torch.optim.AdamW(ps, lr=0.01, betas=(0.8, 0.99), eps=1e-6, weight_decay=0.1)))
p = torch.nn.Parameter(torch.tensor(theta0)); p.grad = torch.tensor(grads[0])
n = torch.nn.utils.clip_grad_norm_([p], 1.0)
print("clip", float(n), [float(v) for v in p.grad])
