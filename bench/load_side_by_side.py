#!/usr/bin/env python3
"""Loading a .pt2 into PyTorch: `torch.export.load(path)` against `pt2c.load(path)`, each in its own
process (so that each peak RSS and import cost belongs to it), with torchcheck's TensorRT
stand-ins registered in both (as bench/torch_side_by_side.py does). Issue 12 item 3's target is
pt2c.load >= 10x faster than torch.export.load on the 1.9 GB `big` program and on 40k nodes.

Runs on the accelerator machine (PyTorch 2.11, the pt2c Python package importable, e.g. after
`pip install .` in the repository, or from the repository's python/ folder with the library built):
    python3 bench/load_side_by_side.py TORCHCHECK_DIR FILE.pt2 [FILE.pt2 ...] [--repeat N]
Per file, one line:
    FILE nodes=N torch_load_s=.. torch_mib=.. pt2c_load_s=.. pt2c_mib=.. speedup=..x same_shape=True
load_s is the wall time of the load call alone (imports and the stand-ins' registration are done
before the clock starts; the best of --repeat runs, each in a fresh process); *_mib is the peak RSS
of that process. same_shape compares what both returned: node count, the graph's node names and
targets, the state dict's and constants' names, shapes and dtypes, and the signature's specs.
When the installed pt2c has no `load`, the pt2c columns read "-" and the torch side still runs.
"""
import argparse
import json
import os
import resource
import subprocess
import sys
import time

HERE = os.path.dirname(os.path.abspath(__file__))


def import_pt2c():
    try:
        import pt2c
    except ImportError:
        sys.path.insert(0, os.path.join(HERE, "..", "python"))
        import pt2c
    return pt2c


def shape_of(ep):
    """What must agree between the two loads (cheap to compare across processes: names, not bytes)."""
    def tensors(d):
        out = {}
        for k, v in d.items():
            if hasattr(v, "shape") and hasattr(v, "dtype"):
                out[k] = [list(v.shape), str(v.dtype)]
            else:
                out[k] = type(v).__name__
        return out

    g = ep.graph
    return {
        "nodes": len(g.nodes),
        "graph": [[n.op, n.name, str(n.target)] for n in g.nodes],
        "state_dict": tensors(ep.state_dict),
        "constants": tensors(getattr(ep, "constants", {}) or {}),
        "input_specs": [str(s) for s in ep.graph_signature.input_specs],
        "output_specs": [str(s) for s in ep.graph_signature.output_specs],
        "range_constraints": sorted(str(k) + ":" + str(v) for k, v in ep.range_constraints.items()),
    }


def child(which, torchcheck, path, shape_out):
    sys.path.insert(0, os.path.abspath(torchcheck))
    import torch
    import check_pt2
    check_pt2.register_runtime(check_pt2.no_op_field_count(path))
    if which == "pt2c":
        pt2c = import_pt2c()
        if not hasattr(pt2c, "load"):
            print(json.dumps({"missing": True}))
            return
        fn = pt2c.load
    else:
        fn = torch.export.load
    t0 = time.perf_counter()
    ep = fn(path)
    t1 = time.perf_counter()
    rss = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    with open(shape_out, "w") as f:
        json.dump(shape_of(ep), f)
    print(json.dumps({"load_s": t1 - t0, "mib": rss, "nodes": len(ep.graph.nodes)}))


def run_child(which, torchcheck, path, shape_out):
    r = subprocess.run([sys.executable, os.path.abspath(__file__), "--child", which, torchcheck, path,
                        "--shape-out", shape_out], capture_output=True, text=True)
    if r.returncode != 0:
        sys.stderr.write(r.stderr)
        raise SystemExit(f"{which} load of {path} failed (exit {r.returncode})")
    return json.loads(r.stdout.strip().splitlines()[-1])


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("torchcheck")
    ap.add_argument("pt2", nargs="+")
    ap.add_argument("--repeat", type=int, default=1, help="fresh processes per side; the best time is printed")
    ap.add_argument("--child", choices=["torch", "pt2c"], help=argparse.SUPPRESS)
    ap.add_argument("--shape-out", help=argparse.SUPPRESS)
    a = ap.parse_args()
    if a.child:
        child(a.child, a.torchcheck, a.pt2[0], a.shape_out)
        return
    for path in a.pt2:
        res, shapes = {}, {}
        for which in ("torch", "pt2c"):
            best = None
            shape_out = f"{path}.{which}.shape.json"
            for _ in range(max(1, a.repeat)):
                r = run_child(which, a.torchcheck, path, shape_out)
                if r.get("missing"):
                    best = None
                    break
                if best is None or r["load_s"] < best["load_s"]:
                    best = r
            res[which] = best
            if best is not None:
                with open(shape_out) as f:
                    shapes[which] = json.load(f)
            if os.path.exists(shape_out):
                os.remove(shape_out)
        t, p = res["torch"], res["pt2c"]
        line = f"{os.path.basename(path)} nodes={t['nodes']} torch_load_s={t['load_s']:.3f} torch_mib={t['mib']:.0f}"
        if p is None:
            line += " pt2c_load_s=- pt2c_mib=- speedup=- same_shape=-"
        else:
            same = shapes.get("torch") == shapes.get("pt2c")
            line += (f" pt2c_load_s={p['load_s']:.3f} pt2c_mib={p['mib']:.0f} "
                     f"speedup={t['load_s'] / max(p['load_s'], 1e-9):.1f}x same_shape={same}")
        print(line, flush=True)


if __name__ == "__main__":
    main()
