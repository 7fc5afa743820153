#!/usr/bin/env python3
"""pt2c.save from Python, side by side in one run with the two-step path it replaces (write the
partitioned archive from the module, then export it with the library: the work of `pt2c
export`), and with a plain write of the same number of bytes. Needs torch (accelerator machine).

    python3 bench/python_save.py OUT_DIR [big|40k ...]

A synthetic compiled module in torch.fx, shaped like bench/gen_partitioned.c's: 8 engine
submodules (TorchTensorRTModule stand-ins holding `serialized_engine` bytes) alternating with 8
fallback GraphModules of K aten.add/aten.mul nodes on one float32 parameter each.
  big: 8 x 128 MiB engines + 8 x 64 MiB weights (1.9 GB program), K = 2
  40k: 8 x 1 MiB engines + 8 x 1 MiB weights, K = 5000
Each case runs in its own process; peak RSS is measured from the module's own RSS (after
building it; VmHWM reset through /proc/self/clear_refs) to the peak during pt2c.save.
"""
import os
import subprocess
import sys
import time

CASES = {"big": (128 << 20, 64 << 20, 2), "40k": (1 << 20, 1 << 20, 5000)}


def rss_mib():
    with open("/proc/self/status") as f:
        d = dict(line.split(":", 1) for line in f if ":" in line)
    return int(d["VmRSS"].split()[0]) / 1024, int(d["VmHWM"].split()[0]) / 1024


def reset_peak():
    try:
        with open("/proc/self/clear_refs", "w") as f:
            f.write("5")
    except OSError:
        pass


def build(engine_bytes, weight_bytes, k):
    import torch
    import torch.fx as fx
    import torch.nn as nn

    class TorchTensorRTModule(nn.Module):
        def __init__(self, name, raw):
            super().__init__()
            self.name, self.serialized_engine = name, raw
            self.engine = None

        def _pack_engine_info(self):
            return ["8", self.name + "_engine", "0%9%0%0%NVIDIA H100 80GB HBM3", self.serialized_engine,
                    "x", "output0", "0", "gAJ9cQAu", "linux_x86_64", "0", "0"]

    root = nn.Module()
    g = fx.Graph()
    x = g.placeholder("x")
    x.meta["val"] = torch.empty(16)
    cur = x
    for i in range(8):
        an = f"_run_on_acc_{2 * i}"
        setattr(root, an, TorchTensorRTModule(an, os.urandom(engine_bytes)))
        a = g.call_module(an, (cur,))
        a.meta["val"] = [torch.empty(16)]
        sub = fx.Graph()
        p = sub.placeholder("x")
        p.meta["val"] = torch.empty(16)
        w = sub.get_attr(f"w{i}")
        w.meta["val"] = torch.empty(16)
        v = p
        for j in range(k):
            v = sub.call_function(torch.ops.aten.add.Tensor if j % 2 == 0 else torch.ops.aten.mul.Tensor, (v, w))
            v.meta["val"] = torch.empty(16)
        sub.output(v)
        holder = nn.Module()
        setattr(holder, f"w{i}", nn.Parameter(torch.rand(weight_bytes // 4)))
        gn = f"_run_on_gpu_{2 * i + 1}"
        setattr(root, gn, fx.GraphModule(holder, sub))
        cur = g.call_module(gn, (a,))
        cur.meta["val"] = torch.empty(16)
    g.output(cur)
    return fx.GraphModule(root, g)


def plain_write(path, n):
    buf = b"\0" * (16 << 20)
    t = time.perf_counter()
    with open(path, "wb") as f:
        left = n
        while left:
            k = min(left, len(buf))
            f.write(buf[:k])
            left -= k
        f.flush()
        os.fsync(f.fileno())
    t = time.perf_counter() - t
    os.remove(path)
    return t


def one(case, out):
    import pt2c
    gm = build(*CASES[case])
    nodes = sum(len(m.graph.nodes) for m in gm.modules() if hasattr(m, "graph"))
    own, _ = rss_mib()
    reset_peak()
    p1 = os.path.join(out, case + ".save.pt2")
    t = time.perf_counter()
    pt2c.save(gm, p1)
    fd = os.open(p1, os.O_RDONLY)
    os.fsync(fd)
    os.close(fd)
    t_save = time.perf_counter() - t
    _, peak = rss_mib()
    # the same once more, warm, with its phases: describe (Python), build + export (C), write (C)
    from pt2c import _describe as dsc, _Sources, _lib
    t = time.perf_counter()
    members = dsc.Members()
    js = dsc.module_json(dsc.describe(gm, members))
    t_desc = time.perf_counter() - t
    src = _Sources(members)
    prog = _lib.Module.build(js, src.array, src.n, src).export(False)
    t_exp = time.perf_counter() - t - t_desc
    prog.write(p1)
    prog.close()
    fd = os.open(p1, os.O_RDONLY)
    os.fsync(fd)
    os.close(fd)
    t_warm = time.perf_counter() - t
    print(f"{case:5} warm save_s={t_warm:.3f}: describe {t_desc:.3f}, build+export {t_exp:.3f}, "
          f"write+fsync {t_warm - t_desc - t_exp:.3f}", flush=True)
    arch = os.path.join(out, case + ".pt2c-partitioned")
    t = time.perf_counter()
    pt2c.write_partitioned(gm, arch)
    t_bridge = time.perf_counter() - t
    d2 = os.path.join(out, "door2")
    os.makedirs(d2, exist_ok=True)
    p2 = os.path.join(d2, case + ".save.pt2")
    t = time.perf_counter()
    pt2c.export(arch, p2)
    fd = os.open(p2, os.O_RDONLY)
    os.fsync(fd)
    os.close(fd)
    t_export = time.perf_counter() - t
    size = os.path.getsize(p1)
    same = open(p1, "rb").read() == open(p2, "rb").read()
    t_plain = plain_write(os.path.join(out, "plain.bin"), size)
    print(f"{case:5} nodes={nodes} out_MiB={size / 2**20:.1f} save_s={t_save:.3f} bridge_s={t_bridge:.3f} "
          f"export_s={t_export:.3f} plain_s={t_plain:.3f} save/export={t_save / t_export:.2f} "
          f"save/(bridge+export)={t_save / (t_bridge + t_export):.2f} save/plain={t_save / t_plain:.2f} "
          f"module_rss_MiB={own:.0f} save_peak_MiB={peak:.0f} over_module_MiB={peak - own:.0f} "
          f"same_bytes={same}", flush=True)
    for p in (p1, p2, arch):
        os.remove(p)


def main():
    out = sys.argv[1]
    os.makedirs(out, exist_ok=True)
    cases = sys.argv[2:] or list(CASES)
    if len(cases) == 1 and os.environ.get("PT2C_BENCH_CHILD"):
        one(cases[0], out)
        return
    for c in cases:
        subprocess.run([sys.executable, __file__, out, c], check=True, env={**os.environ, "PT2C_BENCH_CHILD": "1"})


if __name__ == "__main__":
    main()
