#!/usr/bin/env python3
"""Torch-free checks of pt2c's 2.13 / head exports of a partitioned module (docs/generations.md,
sections B, E and G), the counterpart of check_reference.py for modules no PyTorch here can save:
records of ABI 10 (the head), e.g. the KV-cache module with aliased outputs.

    check_head_export.py PT2C MODULE.partitioned.json TARGET WORKDIR [--mutations BUF=OUT,...]

1. `pt2c export --target TARGET` (normal); zipfile and json read every member; schema 8.17.
2. Every data/constants/opaque_obj_<n> is byte for byte CPython's own
   pickle.dumps(EngineSerializer(info), protocol=2) of the module's engine record (upgraded to
   TARGET's ABI by _pack_engine_info's defaults, strings as the C++ runtime hands them over:
   make_reference.py), and Python's pickle loads it through the stand-in
   torch_tensorrt.dynamo.runtime._TRTEngine._reconstruct_trt_engine into the same record and
   engine bytes (ALIASED_IO included).
3. Signature: the buffer mutations expected (--mutations: buffer -> graph output name, in
   order) come first as buffer_mutation specs naming buffer inputs, then only user outputs; the
   graph's outputs name the same tensors; the module call graph's out_spec has as many leaves as
   there are user outputs; each mutation output's tensor metadata equals its buffer input's; the
   engine call's output list covers the mutation outputs.
4. `pt2c convert` rewrites the file byte for byte; `pt2c engines -d` gives the same engine bytes;
   `pt2c verify` accepts it; converting to an older target than the records is refused.
5. Cross-compile export: no mutation outputs (upstream exposes them in normal mode only), the
   placeholder carries the record (serialized_aliased_io included), and resolve-cross keeps it so.
"""
import argparse
import base64
import json
import os
import pickle
import shutil
import subprocess
import sys
import zipfile

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, HERE)
import make_reference as mr  # noqa: E402

FAILED = []


def ok(cond, what):
    print(("ok " if cond else "FAIL ") + what)
    if not cond:
        FAILED.append(what)
    return cond


def members(path):
    with zipfile.ZipFile(path) as z:
        names = z.namelist()
        root = names[0].split("/")[0] + "/"
        return {n[len(root):]: z.read(n) for n in names}


def leaves(spec):
    """Leaves of a treespec_dumps string (protocol 1): nodes of type null."""
    version, node = json.loads(spec)
    count, stack = 0, [node]
    while stack:
        n = stack.pop()
        if n["type"] is None:
            count += 1
        stack.extend(n["children_spec"])
    return count


def run(*args, check=True):
    return subprocess.run(list(args), capture_output=True, text=True, check=check)


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("pt2c")
    ap.add_argument("module")
    ap.add_argument("target", choices=sorted(mr.TARGETS))
    ap.add_argument("work")
    ap.add_argument("--mutations", default="", help="BUF=OUT,... in output order")
    a = ap.parse_args()
    shutil.rmtree(a.work, ignore_errors=True)
    os.makedirs(os.path.join(a.work, "again"))
    abi = mr.TARGETS[a.target]
    module = json.load(open(a.module))
    engines = {n: s["engine_record"] for n, s in module["submodules"].items() if s["kind"] == "engine"}
    want_mut = [tuple(kv.split("=")) for kv in a.mutations.split(",") if kv]

    out = os.path.join(a.work, "model.pt2")
    run(a.pt2c, "export", a.module, "--target", a.target, "-o", out)
    got = members(out)
    jsons = {n: json.loads(b) for n, b in got.items() if n.endswith(".json")}
    ok(len(jsons) == 3, f"zipfile reads {len(got)} members, json {len(jsons)}")
    model = jsons["models/model.json"]
    ok(model["schema_version"] == {"major": 8, "minor": 17}, f"schema {model['schema_version']}")

    # 2. engine objects
    cfg = jsons["data/constants/model_constants_config.json"]["config"]
    mr.install_trt_standin()
    for fqn, meta in cfg.items():
        if not meta["path_name"].startswith("opaque_obj_"):
            continue
        sub = fqn[: -len("_engine")]
        rec = mr.upgrade(engines[sub], abi)
        blob = got["data/constants/" + meta["path_name"]]
        ok(blob == mr.opaque_bytes(rec), f"{fqn}: {meta['path_name']} == pickle.dumps(EngineSerializer, protocol=2)")
        tag, info = pickle.loads(blob)
        ok(tag == "reconstructed" and info[mr.ENGINE_IDX] == base64.b64decode(rec[mr.ENGINE_IDX]),
           f"{fqn}: _reconstruct_trt_engine gives the engine bytes")
        ok([v for i, v in enumerate(info) if i != mr.ENGINE_IDX] == [v for i, v in enumerate(rec) if i != mr.ENGINE_IDX]
           and len(info) == mr.FIELDS[abi], f"{fqn}: record of {len(info)} fields, ABI {info[0]}, aliased_io "
           f"{info[12] if len(info) > 12 else None!r}")
        ok(meta == {"path_name": meta["path_name"], "is_param": False, "use_pickle": True, "tensor_meta": None},
           f"{fqn}: constants config entry")

    # 3. signature
    gm = model["graph_module"]
    sig, graph = gm["signature"], gm["graph"]
    outs = sig["output_specs"]
    kinds = [next(iter(s)) for s in outs]
    n_mut = len(want_mut)
    ok(kinds == ["buffer_mutation"] * n_mut + ["user_output"] * (len(outs) - n_mut), f"output spec kinds {kinds}")
    ok([(s["buffer_mutation"]["buffer_name"], s["buffer_mutation"]["arg"]["name"]) for s in outs[:n_mut]] == want_mut,
       f"buffer mutations {[s['buffer_mutation'] for s in outs[:n_mut]]}")
    buffers = {s["buffer"]["buffer_name"]: s["buffer"]["arg"]["name"] for s in sig["input_specs"] if "buffer" in s}
    ok(all(b in buffers for b, _ in want_mut), "mutation targets are buffer inputs")
    names = [o["as_tensor"]["name"] for o in graph["outputs"]]
    spec_names = [s["buffer_mutation"]["arg"]["name"] for s in outs[:n_mut]] + \
                 [s["user_output"]["arg"]["as_tensor"]["name"] for s in outs[n_mut:]]
    ok(names == spec_names, f"graph outputs {names}")
    ok(leaves(gm["module_call_graph"][0]["signature"]["out_spec"]) == len(outs) - n_mut,
       f"out_spec has {len(outs) - n_mut} leaves (user outputs only)")
    tv = graph["tensor_values"]
    ok(all(tv[o] == tv[buffers[b]] for b, o in want_mut), "mutation outputs have their buffers' metadata")
    produced = {t["name"] for n in graph["nodes"] if n["target"] == "torch.ops.tensorrt.execute_engine.default"
                for t in n["outputs"][0]["as_tensors"]}
    ok(all(o in produced for _, o in want_mut), "execute_engine's output list covers the mutation outputs")

    # 4. rewrite, engines, verify, refusal
    again = os.path.join(a.work, "again", "model.pt2")
    run(a.pt2c, "convert", out, "-o", again)
    ok(open(again, "rb").read() == open(out, "rb").read(), "pt2c convert rewrites it byte for byte")
    ok(run(a.pt2c, "verify", out, check=False).returncode == 0, "pt2c verify accepts it")
    edir = os.path.join(a.work, "eng")
    run(a.pt2c, "engines", "-q", out, "-d", edir)
    for sub, rec in engines.items():
        p = os.path.join(edir, sub + "_engine.engine")
        ok(os.path.exists(p) and open(p, "rb").read() == base64.b64decode(rec[mr.ENGINE_IDX]), f"engines -d: {sub}")
    top = max((int(r[0]) for r in engines.values()), default=0)
    if top == 10:
        r = run(a.pt2c, "convert", out, "--target", "2.12", "-o", os.path.join(a.work, "older.pt2"), check=False)
        ok(r.returncode == 1 and "newer than target 2.12" in r.stderr, "converting to 2.12 is refused")

    # 5. cross-compile
    cross = os.path.join(a.work, "cross.pt2")
    run(a.pt2c, "export", a.module, "--target", a.target, "--cross-compile", "-o", cross)
    cm = json.loads(members(cross)["models/model.json"])["graph_module"]
    ok(all("user_output" in s for s in cm["signature"]["output_specs"]), "cross-compile: no mutation outputs")
    for n in cm["graph"]["nodes"]:
        if n["target"] == mr.NO_OP:
            args = {i["name"]: i["arg"] for i in n["inputs"]}
            rec = mr.upgrade(engines[args["name"]["as_string"][: -len("_engine")]], abi)
            ok(len(n["inputs"]) == 1 + mr.FIELDS[abi] and
               (abi != "10" or args["serialized_aliased_io"]["as_string"] == rec[12]),
               f"placeholder {n['name']}: {len(n['inputs']) - 1} record arguments")
    res = os.path.join(a.work, "resolved.pt2")
    run(a.pt2c, "resolve-cross", cross, "-o", res)
    rm = json.loads(members(res)["models/model.json"])["graph_module"]
    ok(all("user_output" in s for s in rm["signature"]["output_specs"]), "resolved: no mutation outputs")
    print(f"{len(FAILED)} failed")
    return 1 if FAILED else 0


if __name__ == "__main__":
    sys.exit(main())
