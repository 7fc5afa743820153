"""Real-PyTorch proof for two pt2c features (issue 10, items 5 and 6). Runs where PyTorch 2.11 is
(the accelerator machine); needs ../shared/tools/torchcheck (check_pt2.py, partition.py).

1. Attribute name collisions across fallback segments. `make` builds a partitioned module with
   torchcheck's partition.py in which _run_on_gpu_0 and _run_on_gpu_1 each own a parameter named
   `w0` with different values (and share the buffer `scale`, one tensor used by both), writes its
   JSON form and the eager inputs/outputs. pt2c must export it with distinct names: `w0` (segment
   0, also the top module's own copy) and `w0_1` (segment 1), one `scale`.
   `names PT2` loads pt2c's export and checks the state dict names, the signature targets and
   that each name holds its segment's tensor; check_pt2.py --io checks the outputs.
2. extra_files. `extra PT2 NAME=PATH...` checks that torch.export.load(PT2, extra_files={NAME: ""})
   returns each file's text, and that torch.export.save(..., extra_files=) of the same program
   puts the extra/ members where pt2c put them (right after data/sample_inputs/model.pt, before
   archive_format, in the order given) with the same bytes.

`all` does everything in one call with a pt2c binary that runs on this machine:

    python3 tools/interop/collision_extra_proof.py all OUT_DIR --torchcheck TC --pt2c PT2C

Or in steps (pt2c run elsewhere):

    python3 collision_extra_proof.py make OUT_DIR --torchcheck TC
    pt2c export OUT_DIR/attr_collision_torch.partitioned.json -o OUT_DIR/c.pt2 \\
        --extra-file notes.txt=OUT_DIR/notes.txt --extra-file meta.json=OUT_DIR/meta.json
    (also --cross-compile, then pt2c resolve-cross)
    python3 TC/check_pt2.py OUT_DIR/c.pt2 --io OUT_DIR/attr_collision_torch.io
    python3 collision_extra_proof.py names OUT_DIR/c.pt2 --torchcheck TC \\
        --expect OUT_DIR/attr_collision_torch.expect.json
    python3 collision_extra_proof.py extra OUT_DIR/c.pt2 --torchcheck TC \\
        notes.txt=OUT_DIR/notes.txt meta.json=OUT_DIR/meta.json

Prints `ok ...` / `FAIL ...` lines; exit status 0 when every check passed.
"""
import argparse
import json
import os
import subprocess
import sys
import zipfile

NAME = "attr_collision_torch"
FAILED = []


def ok(cond, what):
    print(("ok " if cond else "FAIL ") + what)
    if not cond:
        FAILED.append(what)
    return cond


def torchcheck(tc, pt2=None):
    """Register torchcheck's stand-in runtime (with the placeholder op of pt2's field count)."""
    sys.path.insert(0, os.path.abspath(tc))
    import check_pt2
    check_pt2.register_runtime(check_pt2.no_op_field_count(pt2) if pt2 else None)
    return check_pt2


def make(out, tc):
    torchcheck(tc)
    import numpy as np
    import torch
    import torch.nn as nn
    import partition

    class Collide(nn.Module):
        def __init__(self):
            super().__init__()
            self.w0 = nn.Parameter(torch.randn(2, 3))
            self.w1 = nn.Parameter(torch.randn(2, 3))
            self.lin = nn.Linear(3, 3)
            self.register_buffer("scale", torch.full((2, 3), 2.0))

        def forward(self, x):
            y = torch.tanh(x * self.w0 * self.scale)    # _run_on_gpu_0
            z = self.lin(y)                             # _run_on_acc_0
            return torch.tanh(z * self.w1 * self.scale)  # _run_on_gpu_1

    def is_acc(n):
        return not (n.op == "call_function" and any(k in str(n.target) for k in ("tanh", "mul")))

    torch.manual_seed(11)
    model = Collide().eval()
    args = (torch.randn(2, 3),)
    gm = partition.make_partitioned(model, args, is_acc)
    seg0, seg1 = gm._run_on_gpu_0, gm._run_on_gpu_1
    ok(dict(seg0.named_parameters()).keys() == {"w0"}, "segment 0 owns w0")
    ok(dict(seg1.named_parameters()).keys() == {"w1"}, "segment 1 owns w1")
    # give segment 1's parameter the name of segment 0's: the collision Torch-TensorRT's exporter
    # resolves wrongly (the second `w0` replaces the first)
    t = seg1.w1
    del seg1._parameters["w1"]
    seg1.register_parameter("w0", t)
    for n in seg1.graph.nodes:
        if n.op == "get_attr" and n.target == "w1":
            n.target = "w0"
    seg1.recompile()
    with torch.no_grad():
        expect = model(*args)
        got = gm(*args)
    ok(torch.allclose(expect, got), "the colliding partitioned module still computes the model (eager)")
    ok(not torch.equal(seg0.w0, seg1.w0), "the two w0 differ")
    os.makedirs(out, exist_ok=True)
    with open(f"{out}/{NAME}.partitioned.json", "w") as f:
        json.dump(partition.describe(gm), f, indent=1)
    os.makedirs(f"{out}/{NAME}.io", exist_ok=True)
    np.save(f"{out}/{NAME}.io/in0.npy", args[0].numpy())
    np.save(f"{out}/{NAME}.io/out0.npy", expect.numpy())
    # what each state-dict name must hold in pt2c's export
    with open(f"{out}/{NAME}.expect.json", "w") as f:
        json.dump({"w0": seg0.w0.detach().flatten().tolist(), "w0_1": seg1.w0.detach().flatten().tolist(),
                   "scale": model.scale.flatten().tolist()}, f)
    # extra files: plain text and JSON, non-ASCII included (torch decodes them as UTF-8)
    with open(f"{out}/notes.txt", "w", encoding="utf-8") as f:
        f.write("made by collision_extra_proof.py\nnon-ASCII: \u00e9\u00e8 \u4e2d\u6587\n")
    with open(f"{out}/meta.json", "w", encoding="utf-8") as f:
        json.dump({"model": NAME, "segments": 3}, f)
    print(f"wrote {out}/{NAME}.partitioned.json, {NAME}.io, {NAME}.expect.json, notes.txt, meta.json")


def names(pt2, tc, expect_path):
    check_pt2 = torchcheck(tc, pt2)
    import torch
    ep = torch.export.load(pt2)
    if any(check_pt2.NO_OP in str(n.target) for n in ep.graph.nodes):
        ep = check_pt2.replace_placeholders(ep)
    with open(expect_path) as f:
        expect = json.load(f)
    sd = ep.state_dict
    ok(set(sd) == set(expect), f"{pt2}: state dict names {sorted(sd)} == {sorted(expect)}")
    for k, v in expect.items():
        if k in sd:
            ok(torch.allclose(sd[k].detach().flatten().float(), torch.tensor(v)), f"{pt2}: state_dict[{k!r}] holds its segment's tensor")
    targets = [s.target for s in ep.graph_signature.input_specs if s.target]
    ok("w0" in targets and "w0_1" in targets and targets.count("scale") == 1,
       f"{pt2}: signature targets {targets}")
    # the mul that reads the input x (segment 0) reads w0; the other (segment 1) reads w0_1
    ph_target = {s.arg.name: s.target for s in ep.graph_signature.input_specs if s.target}
    reads = []
    for n in ep.graph.nodes:
        if n.op == "call_function" and "mul" in str(n.target):
            reads += [ph_target[a.name] for a in n.args if isinstance(a, torch.fx.Node) and a.name in ph_target]
    ok([r for r in reads if r.startswith("w0")] == ["w0", "w0_1"], f"{pt2}: the muls read {reads}")


def member_list(path):
    with zipfile.ZipFile(path) as z:
        names_ = z.namelist()
        root = names_[0].split("/")[0] + "/"
        return [n[len(root):] for n in names_], {n[len(root):]: z.read(n) for n in names_ if n[len(root):].startswith("extra/")}


def extra(pt2, tc, pairs):
    torchcheck(tc, pt2)
    import torch
    want = {}
    for p in pairs:
        k, path = p.split("=", 1)
        with open(path, "rb") as f:
            want[k] = f.read()
    asked = {k: "" for k in want}
    ep = torch.export.load(pt2, extra_files=asked)
    for k, v in want.items():
        ok(asked.get(k) == v.decode("utf-8"), f"{pt2}: torch.export.load returns extra file {k!r}")
    ok(set(asked) == set(want), f"{pt2}: torch.export.load returns exactly {sorted(want)} (got {sorted(asked)})")
    # the same extra files written by torch.export.save, next to pt2c's file
    ref = os.path.join(os.path.dirname(os.path.abspath(pt2)), "torch_saved_extra.pt2")
    src = "the program pt2c wrote"
    try:
        torch.export.save(ep, ref, extra_files={k: v.decode("utf-8") for k, v in want.items()})
    except Exception as e:  # the stand-in engine may not pickle: fall back to a plain program
        print(f"note: torch.export.save of the loaded program failed ({type(e).__name__}: {e}); using a plain Linear")
        src = "a plain Linear"
        plain = torch.export.export(torch.nn.Linear(2, 2), (torch.randn(1, 2),))
        torch.export.save(plain, ref, extra_files={k: v.decode("utf-8") for k, v in want.items()})
    ours, ours_x = member_list(pt2)
    theirs, theirs_x = member_list(ref)
    ok(ours_x == theirs_x, f"extra/ members and bytes equal pt2c vs torch.export.save ({src}): {sorted(ours_x)}")
    for label, lst in (("pt2c", ours), ("torch", theirs)):
        ex = [i for i, n in enumerate(lst) if n.startswith("extra/")]
        si = lst.index("data/sample_inputs/model.pt")
        ok(bool(ex) and ex == list(range(si + 1, si + 1 + len(want))) and lst[ex[-1] + 1] == "archive_format",
           f"{label}: extra/ members right after data/sample_inputs/model.pt, before archive_format")
        ok([lst[i][len("extra/"):] for i in ex] == list(want), f"{label}: extra/ members in the order given")


def run(cmd):
    print("+ " + " ".join(cmd))
    r = subprocess.run(cmd)
    return ok(r.returncode == 0, f"exit 0: {' '.join(cmd)}")


def all_(out, tc, pt2c):
    make(out, tc)
    j = f"{out}/{NAME}.partitioned.json"
    io_ = f"{out}/{NAME}.io"
    ex = ["--extra-file", f"notes.txt={out}/notes.txt", "--extra-file", f"meta.json={out}/meta.json"]
    pairs = [f"notes.txt={out}/notes.txt", f"meta.json={out}/meta.json"]
    files = {"normal": f"{out}/{NAME}.normal.pt2", "cross": f"{out}/{NAME}.cross.pt2", "resolved": f"{out}/{NAME}.resolved.pt2"}
    run([pt2c, "export", "-q", j, "-o", files["normal"]] + ex)
    run([pt2c, "export", "-q", "--cross-compile", j, "-o", files["cross"]] + ex)
    run([pt2c, "resolve-cross", "-q", files["cross"], "-o", files["resolved"]])
    for form, f in files.items():
        if not os.path.exists(f):
            continue
        run([sys.executable, f"{tc}/check_pt2.py", f, "--io", io_])
        # each check in its own process: the stand-in op registrations differ by form
        run([sys.executable, os.path.abspath(__file__), "names", f, "--torchcheck", tc,
             "--expect", f"{out}/{NAME}.expect.json"])
        run([sys.executable, os.path.abspath(__file__), "extra", f, "--torchcheck", tc] + pairs)


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    sub = ap.add_subparsers(dest="cmd", required=True)
    a = sub.add_parser("make"); a.add_argument("out"); a.add_argument("--torchcheck", required=True)
    a = sub.add_parser("names"); a.add_argument("pt2"); a.add_argument("--torchcheck", required=True)
    a.add_argument("--expect", required=True)
    a = sub.add_parser("extra"); a.add_argument("pt2"); a.add_argument("--torchcheck", required=True)
    a.add_argument("pairs", nargs="+", metavar="NAME=PATH")
    a = sub.add_parser("all"); a.add_argument("out"); a.add_argument("--torchcheck", required=True)
    a.add_argument("--pt2c", required=True)
    a = ap.parse_args()
    if a.cmd == "make":
        make(a.out, a.torchcheck)
    elif a.cmd == "names":
        names(a.pt2, a.torchcheck, a.expect)
    elif a.cmd == "extra":
        extra(a.pt2, a.torchcheck, a.pairs)
    else:
        all_(a.out, a.torchcheck, a.pt2c)
    print(f"{'FAILED: ' + str(len(FAILED)) if FAILED else 'all checks passed'}")
    return 1 if FAILED else 0


if __name__ == "__main__":
    sys.exit(main())
