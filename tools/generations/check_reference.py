#!/usr/bin/env python3
"""Torch-free proof for the 2.13 / head generations (docs/generations.md, section G).

    check_reference.py PT2C SOURCE.pt2 TARGET WORKDIR

1. make_reference.py builds the reference members of SOURCE in TARGET's generation.
2. `pt2c convert SOURCE --target TARGET` must give exactly those members (bytes), except
   .data/serialization_id (PyTorchStreamWriter's hash of the records' CRCs, checked by pt2c's own
   tests against real 2.11 files) -- so the pt2c file IS the reference file, member by member.
3. zipfile and json read every member; the schema version is 8.17 with major 8.
4. Python's pickle loads every opaque_obj_<n> through the stand-in
   torch_tensorrt.dynamo.runtime._TRTEngine._reconstruct_trt_engine and yields the source's record
   (upgraded to TARGET's ABI) and engine bytes.
5. `pt2c convert` (no target) rewrites the file byte for byte; `pt2c engines --extract` gives the
   same engine bytes; converting back to an older target is refused.
"""
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


def fail(msg):
    print("FAIL:", msg)
    sys.exit(1)


def members(path):
    with zipfile.ZipFile(path) as z:
        names = z.namelist()
        root = names[0].split("/")[0] + "/"
        for n in names:
            if not n.startswith(root):
                fail(f"{path}: member {n} outside root {root}")
        return {n[len(root):]: z.read(n) for n in names}


def main():
    pt2c, src, target, work = sys.argv[1:5]
    shutil.rmtree(work, ignore_errors=True)
    os.makedirs(work)
    ref_dir = os.path.join(work, "ref")
    subprocess.run([sys.executable, os.path.join(HERE, "make_reference.py"), src, target, ref_dir], check=True)
    ref = {}
    for d, _, files in os.walk(ref_dir):
        for f in files:
            p = os.path.join(d, f)
            ref[os.path.relpath(p, ref_dir)] = open(p, "rb").read()
    out = os.path.join(work, "model.pt2")
    subprocess.run([pt2c, "convert", src, "--target", target, "-o", out], check=True)
    got = members(out)
    skip = {".data/serialization_id"}
    if set(got) - skip != set(ref) - skip:
        fail(f"member sets differ: pt2c only {sorted(set(got) - set(ref))}, reference only {sorted(set(ref) - set(got))}")
    for name in sorted(set(ref) - skip):
        if got[name] != ref[name]:
            fail(f"member {name} differs from the reference ({len(got[name])} vs {len(ref[name])} bytes)")
    model = json.loads(got["models/model.json"])
    sv = model["schema_version"]
    if sv["major"] != 8 or sv["minor"] != 17:
        fail(f"schema_version {sv}")
    for name in got:
        if name.endswith(".json"):
            json.loads(got[name])
    # engine objects through the stand-in
    abi = mr.TARGETS[target]
    src_members = members(src)
    src_cfg = json.loads(src_members["data/constants/model_constants_config.json"])["config"]
    cfg = json.loads(got["data/constants/model_constants_config.json"])["config"]
    mr.install_trt_standin()
    n_obj = 0
    for fqn, meta in cfg.items():
        if not meta["path_name"].startswith("opaque_obj_"):
            continue
        n_obj += 1
        if meta != dict(src_cfg[fqn], path_name=meta["path_name"]) or meta["use_pickle"] is not True:
            fail(f"config entry of {fqn}: {meta}")
        tag, info = pickle.loads(got["data/constants/" + meta["path_name"]])
        want = mr.upgrade(mr.torchbind_record(src_members["data/constants/" + src_cfg[fqn]["path_name"]]), abi)
        want_engine = base64.b64decode(want[mr.ENGINE_IDX])
        if tag != "reconstructed" or info[mr.ENGINE_IDX] != want_engine:
            fail(f"{fqn}: engine bytes differ")
        if [v for i, v in enumerate(info) if i != mr.ENGINE_IDX] != [v for i, v in enumerate(want) if i != mr.ENGINE_IDX]:
            fail(f"{fqn}: record differs: {info[:3]} vs {want[:3]}")
        if len(info) != mr.FIELDS[abi] or info[0] != abi:
            fail(f"{fqn}: record has {len(info)} fields, ABI {info[0]}")
    for node in model["graph_module"]["graph"]["nodes"]:
        if node["target"] == mr.NO_OP and len(node["inputs"]) != 1 + mr.FIELDS[abi]:
            fail(f"placeholder {node['name']} has {len(node['inputs'])} arguments")
    # rewrite byte for byte, engines, refusal
    again = os.path.join(work, "again", "model.pt2")
    os.makedirs(os.path.dirname(again))
    subprocess.run([pt2c, "convert", out, "-o", again], check=True)
    if open(again, "rb").read() != open(out, "rb").read():
        fail("pt2c convert does not rewrite the file byte for byte")
    older = "2.11" if target == "2.13" else "2.12"
    r = subprocess.run([pt2c, "convert", out, "--target", older, "-o", os.path.join(work, "older.pt2")],
                       capture_output=True, text=True)
    if n_obj and (r.returncode == 0 or "newer than target" not in r.stderr):
        fail(f"converting to {older} was not refused: {r.returncode} {r.stderr}")
    print(f"ok: {os.path.basename(src)} -> {target}: {len(ref)} members equal, {n_obj} engine objects")


if __name__ == "__main__":
    main()
