#!/usr/bin/env python3
"""pt2c's fast loader against torch.export.load, file by file (needs torch: the accelerator machine).

For each .pt2 the program is loaded twice in one process -- torch.export.load(path) and
pt2c's fast path (pt2c._load.load, the loader behind pt2c.load before placeholders are resolved)
-- and everything an ExportedProgram carries is compared: the graph (nodes, names, targets,
arguments, every meta entry), the generated code, the signature, the state dict (values, dtypes,
shapes, strides, storage offsets, devices, Parameter-ness, requires_grad, which entries share
storage), the constants (tensors as above; engine objects by their pickled state), the range
constraints, the module call graph, the example inputs, the verifiers and guards code, and the
extra files. Then pt2c.load(path) is checked to run: cross-compile placeholders resolved.

    python3 tests/python/load_equal.py TORCHCHECK_DIR FILE.pt2 ...
Files are grouped by the cross-compile op's field count (one process a group: the stand-in op
is defined once a process). Prints "ok FILE" or "FAIL FILE: difference"; exit 1 on any FAIL.
"""
import os
import subprocess
import sys


def _tensor_desc(t):
    import torch
    return (type(t).__name__, t.dtype, tuple(t.shape), tuple(t.stride()), t.storage_offset(), str(t.device),
            t.requires_grad, isinstance(t, torch.nn.Parameter))


def _tensors_differ(x, y):
    import torch
    if _tensor_desc(x) != _tensor_desc(y):
        return f"{_tensor_desc(x)} != {_tensor_desc(y)}"
    if x.numel() and not torch.equal(x.detach().cpu(), y.detach().cpu()):
        return "values differ"
    return None


def _meta_val(v):
    """A comparable form of node.meta values (FakeTensors, SymInts, containers)."""
    import torch
    if isinstance(v, torch.Tensor):
        return ("T", type(v).__name__, v.dtype, tuple(str(s) for s in v.shape), tuple(str(s) for s in v.stride()), str(v.device),
                v.requires_grad)
    if isinstance(v, (list, tuple)):
        return (type(v).__name__, tuple(_meta_val(e) for e in v))
    if isinstance(v, dict):
        return ("dict", tuple((k, _meta_val(e)) for k, e in v.items()))
    if isinstance(v, (torch.SymInt, torch.SymFloat, torch.SymBool)):
        return ("S", str(v))
    if isinstance(v, torch.ScriptObject) or type(v).__name__.startswith("FakeScriptObject"):
        return ("O", type(v).__name__)
    return repr(v)


def _obj_state(o):
    import torch
    if isinstance(o, torch.ScriptObject):
        return (o._type().qualified_name(), o.__getstate__())
    return repr(o)


def ep_diff(a, b):
    """The first differences between two ExportedPrograms (empty list: equal)."""
    import torch
    from torch.utils._pytree import tree_flatten
    d = []

    def chk(what, x, y):
        if x != y:
            d.append(f"{what}: {str(x)[:300]!r} != {str(y)[:300]!r}")

    chk("graph", str(a.graph), str(b.graph))
    chk("code", a.graph_module.code, b.graph_module.code)
    na, nb = list(a.graph.nodes), list(b.graph.nodes)
    chk("node count", len(na), len(nb))
    for x, y in zip(na, nb):
        chk(f"node {x.name}", (x.op, x.name, str(x.target), repr(x.args), repr(x.kwargs), x.type),
            (y.op, y.name, str(y.target), repr(y.args), repr(y.kwargs), y.type))
        chk(f"node {x.name} meta keys", sorted(x.meta), sorted(y.meta))
        for k in x.meta:
            if k in y.meta:
                chk(f"node {x.name} meta[{k}]", _meta_val(x.meta[k]), _meta_val(y.meta[k]))
        if len(d) > 20:
            return d

    def modes(ep):  # how many FakeTensorModes the node metadata uses
        return len({id(n.meta["val"].fake_mode) for n in ep.graph.nodes
                    if hasattr(n.meta.get("val"), "fake_mode")})
    chk("fake modes", modes(a), modes(b))
    chk("signature", str(a.graph_signature), str(b.graph_signature))
    chk("input specs", a.graph_signature.input_specs, b.graph_signature.input_specs)
    chk("output specs", a.graph_signature.output_specs, b.graph_signature.output_specs)
    chk("state_dict keys", list(a.state_dict), list(b.state_dict))
    for k in a.state_dict:
        if k in b.state_dict:
            e = _tensors_differ(a.state_dict[k], b.state_dict[k])
            if e:
                d.append(f"state_dict[{k}]: {e}")

    def sharing(sd):
        owner = {}
        return [owner.setdefault(t.untyped_storage().data_ptr(), k) for k, t in sd.items()
                if isinstance(t, torch.Tensor)]
    chk("state_dict storage sharing", sharing(a.state_dict), sharing(b.state_dict))
    chk("constants keys", list(a.constants), list(b.constants))
    for k in a.constants:
        if k not in b.constants:
            continue
        x, y = a.constants[k], b.constants[k]
        if isinstance(x, torch.Tensor) and isinstance(y, torch.Tensor):
            e = _tensors_differ(x, y)
            if e:
                d.append(f"constants[{k}]: {e}")
        else:
            chk(f"constants[{k}]", _obj_state(x), _obj_state(y))
    chk("range constraints", {str(k): str(v) for k, v in a.range_constraints.items()},
        {str(k): str(v) for k, v in b.range_constraints.items()})
    chk("module call graph", repr(a.module_call_graph), repr(b.module_call_graph))
    fa, sa = tree_flatten(a.example_inputs)
    fb, sb = tree_flatten(b.example_inputs)
    chk("example inputs spec", str(sa), str(sb))
    for i, (x, y) in enumerate(zip(fa, fb)):
        if isinstance(x, torch.Tensor) and isinstance(y, torch.Tensor):
            e = _tensors_differ(x, y)
            if e:
                d.append(f"example input {i}: {e}")
        else:
            chk(f"example input {i}", repr(x), repr(y))
    chk("verifiers", [v.dialect for v in a.verifiers], [v.dialect for v in b.verifiers])
    chk("guards code", getattr(a, "_guards_code", None), getattr(b, "_guards_code", None))
    return d


def check_files(tc, files):
    sys.path.insert(0, os.path.abspath(tc))
    import torch  # noqa: F401
    import check_pt2
    import pt2c
    from pt2c import _load
    check_pt2.register_runtime(check_pt2.no_op_field_count(files[0]))
    bad = 0
    for f in files:
        try:
            ea, eb = {}, {}
            a = torch.export.load(f, extra_files=ea)
            b = _load.load(f, eb)
            diffs = ep_diff(a, b)
            if ea != eb:
                diffs.append(f"extra files {sorted(ea)} != {sorted(eb)}")
            pt2c.load(f, fast=True)  # resolves placeholders; must not raise
        except Exception as e:  # noqa: BLE001 -- report and go on
            diffs = [f"{type(e).__name__}: {e}"]
        if diffs:
            bad += 1
            print(f"FAIL {f}: " + "; ".join(diffs)[:1500], flush=True)
        else:
            print(f"ok {f}", flush=True)
    return bad


def main():
    if len(sys.argv) > 2 and sys.argv[1] == "--group":
        sys.exit(1 if check_files(sys.argv[2], sys.argv[3:]) else 0)
    tc, files = sys.argv[1], sys.argv[2:]
    sys.path.insert(0, os.path.abspath(tc))
    import check_pt2  # torch-free helper of torchcheck
    groups = {}
    for f in files:
        groups.setdefault(check_pt2.no_op_field_count(f), []).append(f)
    rc = 0
    for _, fs in sorted(groups.items(), key=lambda kv: (kv[0] is None, kv[0] or 0)):
        rc |= subprocess.call([sys.executable, "-W", "ignore", __file__, "--group", tc] + fs)
    n = len(files)
    print(f"{n} files in {len(groups)} groups: {'all equal' if rc == 0 else 'DIFFERENCES'}")
    sys.exit(rc)


if __name__ == "__main__":
    main()
