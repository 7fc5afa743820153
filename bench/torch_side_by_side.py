#!/usr/bin/env python3
"""PyTorch's own cost for a .pt2 that pt2c wrote: torch.export.load, then torch.export.save of the
loaded program (the save half of the Python exporter's path), each timed, with peak memory.

Runs on the accelerator machine (PyTorch 2.11 with torchcheck's TensorRT stand-ins):
    python3 bench/torch_side_by_side.py TORCHCHECK_DIR FILE.pt2 [--save OUT.pt2]
Prints one line: file, nodes, load_s, save_s, peak RSS (MiB). Each file should get its own process
so that the peak belongs to it.
"""
import argparse
import os
import resource
import sys
import time


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("torchcheck")
    ap.add_argument("pt2")
    ap.add_argument("--save", help="where to save the loaded program (default: next to the input)")
    a = ap.parse_args()
    sys.path.insert(0, os.path.abspath(a.torchcheck))
    import torch
    import check_pt2
    check_pt2.register_runtime(check_pt2.no_op_field_count(a.pt2))
    t0 = time.perf_counter()
    ep = torch.export.load(a.pt2)
    t1 = time.perf_counter()
    out = a.save or a.pt2 + ".torch.pt2"
    torch.export.save(ep, out)
    os.sync()
    t2 = time.perf_counter()
    rss = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    print(f"{os.path.basename(a.pt2)} nodes={len(ep.graph.nodes)} load_s={t1 - t0:.3f} save_s={t2 - t1:.3f} "
          f"maxrss_mib={rss:.1f} out_bytes={os.path.getsize(out)}")
    os.remove(out) if not a.save else None


if __name__ == "__main__":
    main()
