"""Real-PyTorch check of aliased KV-cache outputs exported as buffer mutations (issue 10, the head
row; docs/generations.md, section E). Runs where PyTorch 2.11 is (the accelerator machine) with
../shared/tools/torchcheck (the stand-in runtime) and a pt2c binary that runs there.

What it proves, and what it cannot: PyTorch 2.11 cannot read a head file (its engine constants are
Python-pickled opaque objects: `RuntimeError: Unsupported constant type`, issue 10). So the script
takes pt2c's `export --target head` file and re-encodes only the engine constants the 2.12 way
(TorchBind `custom_obj_<n>` = torch._C._pickle_save of the stand-in tensorrt.Engine built from the
same 13-field record; constants config path_name updated), keeping model.json (graph, signature
with the BUFFER_MUTATION specs, out_spec), the weights and every other member as pt2c wrote them.
PyTorch 2.11 must then load it, report buffers_to_mutate {getitem_1: k_cache, getitem_2: v_cache}
and one user output, and the unlifted module must compute the eager outputs AND carry the cache
updates in its buffers from one call to the next.

    python3 tools/interop/kv_cache_proof.py OUT_DIR --torchcheck TC --pt2c PT2C

The engine is the KV-cache module of tests/export/data/make_kv_cache.py with runnable bytes: a
TorchScript module (x, k, v, state) -> (y, k + x, 0.5 * v + x, state + 1) scripted here (the
stand-in runs TorchScript engines). Prints ok/FAIL lines; exit 0 when every check passed.
"""
import argparse
import io
import json
import os
import pickle
import subprocess
import sys
import zipfile

HERE = os.path.dirname(os.path.abspath(__file__))
ROOT = os.path.dirname(os.path.dirname(HERE))
sys.path.insert(0, os.path.join(ROOT, "tests", "export", "data"))
sys.path.insert(0, os.path.join(ROOT, "tools", "generations"))
import make_kv_cache  # noqa: E402
import make_reference as mr  # noqa: E402

FAILED = []


def ok(cond, what):
    print(("ok " if cond else "FAIL ") + what)
    if not cond:
        FAILED.append(what)
    return cond


def engine_bytes(torch):
    class KV(torch.nn.Module):
        def forward(self, x, k, v, state):
            k2 = k + x
            v2 = v * 0.5 + x
            return k2 * v2 - state, k2, v2, state + 1.0
    buf = io.BytesIO()
    torch.jit.save(torch.jit.script(KV()), buf)
    return buf.getvalue()


def eager(torch, x, state, k, v):
    """The partitioned module run by hand: engine, then the relu fallback; new caches."""
    k2 = k + x
    v2 = v * 0.5 + x
    return torch.relu(k2 * v2 - state), k2, v2


def to_torchbind(torch, src, dst):
    """src (head, opaque engine objects) -> dst: the same members, engine constants as TorchBind."""
    mr.install_trt_standin()  # a torch-free _reconstruct_trt_engine for pickle.loads
    with zipfile.ZipFile(src) as z:
        names = z.namelist()
        root = names[0].split("/")[0] + "/"
        members = {n[len(root):]: z.read(n) for n in names}
    order = [n[len(root):] for n in names]
    cfg = json.loads(members["data/constants/model_constants_config.json"])
    j = 0
    for fqn, meta in cfg["config"].items():
        if not meta["path_name"].startswith("opaque_obj_"):
            continue
        old = "data/constants/" + meta["path_name"]
        _, info = pickle.loads(members.pop(old))
        obj = torch.classes.tensorrt.Engine(info)  # raw engine bytes at index 3, as check_pt2.py does
        name = f"custom_obj_{j}"
        j += 1
        members["data/constants/" + name] = torch._C._pickle_save(obj)
        order[order.index(old)] = "data/constants/" + name  # same place in the archive
        meta["path_name"] = name
    members["data/constants/model_constants_config.json"] = json.dumps(cfg).encode()
    order.remove(".data/serialization_id")  # the writer computes its own
    w = torch._C.PyTorchFileWriter(dst)  # records go under the file's base name, as pt2c's do
    for n in order:
        w.write_record(n, members[n], len(members[n]))
    w.write_end_of_file()
    return j


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("out")
    ap.add_argument("--torchcheck", required=True)
    ap.add_argument("--pt2c", required=True)
    a = ap.parse_args()
    import torch
    sys.path.insert(0, os.path.abspath(a.torchcheck))
    import check_pt2
    check_pt2.register_runtime(None)
    os.makedirs(a.out, exist_ok=True)
    pj = os.path.join(a.out, "kv_cache_run.partitioned.json")
    with open(pj, "w") as f:
        json.dump(make_kv_cache.module(engine_bytes(torch)), f)
    head = os.path.join(a.out, "kv_cache_run.head.pt2")
    r = subprocess.run([a.pt2c, "export", "-q", pj, "--target", "head", "-o", head], capture_output=True, text=True)
    if not ok(r.returncode == 0, f"pt2c export --target head ({r.stderr.strip()})"):
        return 1
    try:
        torch.export.load(head)
        ok(True, "PyTorch loads the head file itself (not expected for 2.11)")
    except Exception as e:  # expected: 2.11 has no opaque constants
        print(f"note: PyTorch {torch.__version__} does not load the head file itself: {type(e).__name__}: {str(e)[:160]}")
    tb = os.path.join(a.out, "kv_cache_run.torchbind.pt2")
    n = to_torchbind(torch, head, tb)
    ok(n == 1, f"re-encoded {n} engine constant(s) as TorchBind")
    try:
        ep = torch.export.load(tb)
    except Exception as e:
        ok(False, f"load: {type(e).__name__}: {e}")
        return 1
    ok(True, "torch.export.load accepts the program with BUFFER_MUTATION outputs")
    sig = ep.graph_signature
    ok(dict(sig.buffers_to_mutate) == {"getitem_1": "k_cache", "getitem_2": "v_cache"},
       f"buffers_to_mutate {dict(sig.buffers_to_mutate)}")
    ok(list(sig.user_outputs) == ["relu_default"], f"user_outputs {list(sig.user_outputs)}")
    ok([s.kind.name for s in sig.output_specs] == ["BUFFER_MUTATION", "BUFFER_MUTATION", "USER_OUTPUT"],
       f"output spec kinds {[s.kind.name for s in sig.output_specs]}")
    ok(ep.call_spec.out_spec.num_leaves == 1, f"out_spec leaves {ep.call_spec.out_spec.num_leaves}")
    mod = ep.module()
    bufs = dict(mod.named_buffers())
    k, v = bufs["k_cache"].clone(), bufs["v_cache"].clone()
    torch.manual_seed(0)
    for step in range(3):
        x, state = torch.randn(1, 4), torch.randn(1, 4)
        want, k, v = eager(torch, x, state, k, v)
        try:
            got = mod(x, state)
        except Exception as e:
            ok(False, f"run step {step}: {type(e).__name__}: {e}")
            return 1
        got = got[0] if isinstance(got, (tuple, list)) else got
        bufs = dict(mod.named_buffers())
        ok(torch.allclose(got, want), f"step {step}: output matches eager")
        ok(torch.allclose(bufs["k_cache"], k) and torch.allclose(bufs["v_cache"], v),
           f"step {step}: k_cache/v_cache hold the updated caches")
    print(f"{len(FAILED)} failed")
    return 1 if FAILED else 0


if __name__ == "__main__":
    sys.exit(main())
