"""Make the bundled example under examples/: a small Torch-TensorRT-style partitioned module
(engine -> fallback -> engine, ABI 8 records, stand-in engines) in pt2c's partitioned JSON form,
with its inputs and expected outputs (.io/in*.npy, out*.npy).

Runs where PyTorch >= 2.9 is installed (the accelerator machine), with the torchcheck tools:
    python3 make_example.py TORCHCHECK_DIR OUT_DIR
"""
import json
import os
import sys

import numpy as np
import torch
import torch.nn as nn


class TinyHybrid(nn.Module):
    """Linear -> (GELU + scale: falls back to PyTorch) -> Linear, two outputs."""

    def __init__(self):
        super().__init__()
        self.fc1 = nn.Linear(16, 32)
        self.scale = nn.Parameter(torch.full((32,), 0.5))
        self.fc2 = nn.Linear(32, 8)

    def forward(self, x):
        h = torch.nn.functional.gelu(self.fc1(x)) * self.scale
        return self.fc2(h), h


def is_acc(n):
    return not (n.op == "call_function" and any(k in str(n.target) for k in ("gelu", "mul")))


def main():
    tc, out = sys.argv[1], sys.argv[2]
    sys.path.insert(0, tc)
    import check_pt2
    check_pt2.register_runtime(None)
    import partition
    torch.manual_seed(11)
    model = TinyHybrid().eval()
    args = (torch.randn(4, 16),)
    gm = partition.make_partitioned(model, args, is_acc, abi=8)
    os.makedirs(out, exist_ok=True)
    with open(os.path.join(out, "tiny_hybrid.partitioned.json"), "w") as f:
        json.dump(partition.describe(gm), f, indent=1)
    with torch.no_grad():
        expect = model(*args)
    io = os.path.join(out, "tiny_hybrid.io")
    os.makedirs(io, exist_ok=True)
    for i, a in enumerate(args):
        np.save(os.path.join(io, f"in{i}.npy"), a.numpy())
    for i, t in enumerate(torch.utils._pytree.tree_flatten(expect)[0]):
        np.save(os.path.join(io, f"out{i}.npy"), t.numpy())
    print("wrote", out)


if __name__ == "__main__":
    main()
