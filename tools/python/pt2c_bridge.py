"""Write a Torch-TensorRT partitioned torch.fx.GraphModule as a pt2c partitioned-module archive
(docs/partitioned-format.md), which `pt2c export` turns into a PyTorch 2.11 .pt2.

    from pt2c_bridge import write_partitioned_archive
    write_partitioned_archive(gm, "model.pt2c-partitioned")

module.json is the JSON form written by describe() in torchcheck/partition.py, except that each
weight names a member ("data_member": "weights/<i>", plus "storage_offset" for views) holding its
whole untyped storage (tied weights and views of one storage with one dtype share it), and engine
record field 3 is {"member": "engines/<submodule>"}. Nothing is base64-encoded or gathered in
memory: each storage is streamed from a memoryview of its bytes in CHUNK pieces; a CUDA (or other
non-CPU) storage is copied to host memory one storage at a time, just before it is written.
Engine bytes from _pack_engine_info() are written as they are.

Demo (needs PyTorch >= 2.9 and the torchcheck tools):
    python3 pt2c_bridge.py --demo OUT_DIR --torchcheck DIR [--abi 6..10]
torch and numpy are imported inside functions only: the archive writer itself needs neither.
"""
import json
import os
import struct
import sys
import tempfile
import zipfile

ROOT = "partitioned/"
CHUNK = 16 << 20
ALIGN = 64
# torch.memory_format / torch.layout -> PT2 MemoryFormat / Layout (torch/_export/serde/schema.py)
MEMORY_FORMATS = {"torch.contiguous_format": 1, "torch.channels_last": 2,
                  "torch.channels_last_3d": 3, "torch.preserve_format": 4}
LAYOUTS = {"torch.sparse_coo": 1, "torch.sparse_csr": 2, "torch.sparse_csc": 3,
           "torch.sparse_bsr": 4, "torch.sparse_bsc": 5, "torch._mkldnn": 6, "torch.strided": 7}


# ---------------------------------------------------------------- archive layer (no torch)

def chunks(buf, size=CHUNK):
    """Zero-copy slices of a bytes-like object, as unsigned bytes."""
    mv = memoryview(buf)
    if mv.ndim != 1 or mv.format != "B":
        mv = mv.cast("B")
    for i in range(0, len(mv), size):
        yield mv[i:i + size]


class Members:
    """Names the archive members: one weights/<i> per distinct storage key, in first-seen order,
    and one engines/<submodule> per engine."""

    def __init__(self):
        self.weights = []   # (member name, nbytes, callable -> iterable of bytes-like chunks)
        self.engines = []   # (member name, bytes-like)
        self._by_key = {}

    def weight(self, key, nbytes, source):
        name = self._by_key.get(key)
        if name is None:
            name = f"weights/{len(self.weights)}"
            self._by_key[key] = name
            self.weights.append((name, nbytes, source))
        return name

    def engine(self, subname, data):
        name = "engines/" + subname
        memoryview(data)  # TypeError now, not mid-write, if the record holds no raw bytes
        if any(n == name for n, _ in self.engines):
            raise ValueError(f"two engines named {subname}")
        self.engines.append((name, data))
        return {"member": name}


def engine_record(info, subname, members):
    """A packed engine record (field 3 = raw bytes) as JSON, its bytes registered as a member."""
    rec = list(info)
    rec[3] = members.engine(subname, rec[3])
    return rec


def weight_entry(meta, member, storage_offset=0, requires_grad=False, persistent=True):
    """A weight's JSON object: tensor metadata + its member (+ view offset, flags)."""
    w = dict(meta)
    w["data_member"] = member
    if storage_offset:
        w["storage_offset"] = int(storage_offset)
    w["requires_grad"] = bool(requires_grad)
    if not persistent:
        w["persistent"] = False
    return w


def _add(zf, name, pieces):
    """One stored member under ROOT, its data on an ALIGN boundary (PyTorch's "FB" padding extra
    field), its sizes in a ZIP64 extra so that it may exceed 4 GiB."""
    zi = zipfile.ZipInfo(ROOT + name, date_time=(1980, 1, 1, 0, 0, 0))
    zi.compress_type = zipfile.ZIP_STORED
    # local header: 30 + name + our extra (4 + pad) + the 20-byte zip64 extra zipfile appends
    pad = -(zf.start_dir + 30 + len(zi.filename.encode("utf-8")) + 4 + 20) % ALIGN
    zi.extra = struct.pack("<HH", 0x4246, pad) + b"Z" * pad
    with zf.open(zi, "w", force_zip64=True) as f:
        for piece in pieces:
            f.write(piece)


def _counted(pieces, nbytes, name):
    """Pass pieces through, checking that they add up to nbytes."""
    n = 0
    for piece in pieces:
        n += len(piece)
        yield piece
    if n != nbytes:
        raise ValueError(f"{name}: wrote {n} bytes, expected {nbytes}")


def write_archive(path, module, members):
    """Write format, version, module.json, weights, engines to `path` atomically (a temporary
    file in the same folder, renamed over `path` once complete)."""
    path = os.path.abspath(path)
    fd, tmp = tempfile.mkstemp(prefix=".pt2c-", suffix=".tmp", dir=os.path.dirname(path))
    try:
        umask = os.umask(0)
        os.umask(umask)
        os.chmod(tmp, 0o666 & ~umask)  # mkstemp makes 0600; give the usual mode
        with os.fdopen(fd, "w+b") as f, zipfile.ZipFile(f, "w", allowZip64=True) as zf:
            _add(zf, "format", [b"pt2c-partitioned"])
            _add(zf, "version", [b"1"])
            _add(zf, "module.json", [json.dumps(module, separators=(",", ":")).encode("utf-8")])
            for name, nbytes, source in members.weights:
                _add(zf, name, _counted(source(), nbytes, name))
            for name, data in members.engines:
                _add(zf, name, chunks(data))
        os.replace(tmp, path)
    except BaseException:
        if os.path.exists(tmp):
            os.unlink(tmp)
        raise


# ---------------------------------------------------------------- torch side

def _storage_source(storage):
    """A callable yielding the storage's bytes as zero-copy chunks of a uint8 view; a non-CPU
    storage is copied to the host when called (while its member is written), one at a time."""
    def source():
        import torch
        n = storage.nbytes()
        if n == 0:
            return
        u8 = torch.empty(0, dtype=torch.uint8, device=storage.device).set_(storage, 0, (n,), (1,))
        if u8.device.type != "cpu":
            u8 = u8.cpu()
        yield from chunks(u8.numpy())
    return source


def describe_archive(gm, members):
    """describe() of torchcheck/partition.py with weights and engines registered in `members`."""
    import functools
    import torch
    import torch.utils._pytree as pytree
    symbols = {}
    known = dict(gm.meta.get("symbol_ranges", {}))  # the exported program's own ranges, if kept

    def size(d):
        if isinstance(d, torch.SymInt):
            expr, shape_env = d.node.expr, d.node.shape_env
            for sym in expr.free_symbols:
                r = shape_env.var_to_range.get(sym)
                if r is not None:
                    symbols[str(sym)] = [int(r.lower), int(r.upper) if r.upper.is_finite else None]
            return str(expr)
        return int(d)

    def tmeta(t):
        return {"dtype": str(t.dtype).replace("torch.", ""), "sizes": [size(d) for d in t.shape],
                "strides": [size(d) for d in t.stride()], "device": str(t.device)}

    def weight(t, persistent=True):
        s = t.untyped_storage()
        member = members.weight((s.data_ptr(), str(s.device), str(t.dtype)), s.nbytes(),
                                _storage_source(s))
        # requires_grad as describe() gives it: of the detached tensor, so false
        return weight_entry(tmeta(t), member, t.storage_offset(), t.detach().requires_grad,
                            persistent)

    def arg(a):
        if isinstance(a, torch.fx.Node):
            return {"node": a.name}
        if isinstance(a, (list, tuple)):
            return [arg(x) for x in a]
        if isinstance(a, dict):
            return {k: arg(v) for k, v in a.items()}
        if isinstance(a, (int, float, bool, str)) or a is None:
            return a
        if isinstance(a, torch.dtype):
            return {"dtype": str(a).replace("torch.", "")}
        if isinstance(a, torch.device):
            return {"as_device": {"type": a.type, "index": a.index}}
        if isinstance(a, torch.memory_format) and str(a) in MEMORY_FORMATS:
            return {"as_memory_format": MEMORY_FORMATS[str(a)]}
        if isinstance(a, torch.layout) and str(a) in LAYOUTS:
            return {"as_layout": LAYOUTS[str(a)]}
        return {"repr": repr(a)}

    def meta(n):
        v = n.meta.get("val")

        def one(t):
            if isinstance(t, torch.Tensor):
                return tmeta(t)
            if isinstance(t, torch.SymInt):
                return {"symint": size(t)}
            return {"repr": repr(t)}
        if isinstance(v, (list, tuple)):
            return [one(t) for t in v]
        return one(v) if v is not None else None

    schemas = {}

    def target(n):
        if isinstance(n.target, str):
            return n.target
        if isinstance(n.target, torch._ops.OpOverload):
            t = n.target
            name = f"torch.ops.{t.namespace}.{t._opname}.{t._overloadname}"
            if t.namespace not in ("aten", "prims"):
                schemas[name] = str(t._schema)
            return name
        return f"{n.target.__module__}.{n.target.__name__}"

    def graph(g):
        return [{"op": n.op, "name": n.name, "target": target(n), "args": arg(n.args),
                 "kwargs": arg(n.kwargs), "val": meta(n)} for n in g.nodes]

    def weights(m, skip=()):
        """parameters, buffers (tied ones under every name) and constants (tensor get_attr
        targets that are neither) of module m, leaving out children named in skip."""
        npers = {f"{p}.{b}" if p else b for p, mod in m.named_modules(remove_duplicate=False)
                 for b in getattr(mod, "_non_persistent_buffers_set", ())}
        ps = {k: weight(v) for k, v in m.named_parameters(remove_duplicate=False)
              if k.split(".")[0] not in skip}
        bs = {k: weight(v, k not in npers) for k, v in m.named_buffers(remove_duplicate=False)
              if k.split(".")[0] not in skip}
        cs = {}
        for n in m.graph.nodes:
            if n.op == "get_attr" and n.target not in ps and n.target not in bs:
                v = functools.reduce(lambda o, a: getattr(o, a, None), n.target.split("."), m)
                if isinstance(v, torch.Tensor):
                    cs[n.target] = weight(v)
        return ps, bs, cs

    subs = {}
    for name, m in gm.named_children():
        if hasattr(m, "_pack_engine_info"):
            info = list(m._pack_engine_info())
            if isinstance(info[3], torch.Tensor):
                info[3] = info[3].detach().cpu().contiguous().view(torch.uint8).numpy()
            subs[name] = {"kind": "engine", "engine_record": engine_record(info, name, members)}
        elif isinstance(m, torch.fx.GraphModule):
            p, b, c = weights(m)
            subs[name] = {"kind": "graph", "graph": graph(m.graph), "parameters": p, "buffers": b}
            if c:
                subs[name]["constants"] = c
        elif name.startswith("_run_on_acc"):
            raise TypeError(f"{name} ({type(m).__name__}) has no _pack_engine_info(): "
                            "compile with the C++ runtime (use_python_runtime=False)")
    top_p, top_b, top_c = weights(gm, skip=set(subs))
    info = getattr(gm.graph._codegen, "pytree_info", None)  # absent without _PyTreeCodeGen

    def spec(s):
        return None if s is None else pytree.treespec_dumps(s)
    doc = {"graph": graph(gm.graph), "submodules": subs, "parameters": top_p, "buffers": top_b,
           "in_spec": spec(info and info.in_spec), "out_spec": spec(info and info.out_spec),
           "symbols": {**symbols, **known}}
    if top_c:
        doc["constants"] = top_c
    if schemas:
        doc["op_schemas"] = schemas
    return doc


def write_partitioned_archive(gm, path):
    """Write partitioned GraphModule gm to `path` as a pt2c partitioned-module archive."""
    members = Members()
    module = describe_archive(gm, members)
    write_archive(path, module, members)


# ---------------------------------------------------------------- demo

def _move_into_views(gm):
    """Put each fallback parameter in the middle of a larger storage (same values), so that the
    archive holds views (storage_offset != 0)."""
    import torch
    for _, m in gm.named_children():
        if isinstance(m, torch.fx.GraphModule):
            for _, p in m.named_parameters():
                big = torch.zeros(p.numel() + 24, dtype=p.dtype, device=p.device)
                big[16:16 + p.numel()] = p.detach().flatten()
                p.data = big[16:16 + p.numel()].view(p.shape)


def demo(out, torchcheck, abi=6):
    """The example models of partition.main (same seed and order), plus the static one with its
    fallback weights as views: OUT/<name>.pt2c-partitioned and OUT/<name>.io/{in,out}<i>.npy."""
    import numpy as np
    import torch
    from torch.export import Dim
    sys.path.insert(0, os.path.abspath(torchcheck))
    import check_pt2
    check_pt2.register_runtime(None)
    import partition
    os.makedirs(out, exist_ok=True)
    torch.manual_seed(7)
    cases = {
        "example_hybrid": (partition._Hybrid(), (torch.randn(2, 3, 8, 8),), None),
        "example_hybrid_dynamic": (partition._Hybrid(), (torch.randn(3, 3, 8, 8),),
                                   {"x": {0: Dim("batch", min=1, max=32)}}),
        "example_hybrid_views": (partition._Hybrid(), (torch.randn(2, 3, 8, 8),), None),
    }
    for name, (model, args, dyn) in cases.items():
        gm = partition.make_partitioned(model.eval(), args, partition._is_acc,
                                        dynamic_shapes=dyn, abi=abi)
        if name.endswith("_views"):
            _move_into_views(gm)
        path = os.path.join(out, name + ".pt2c-partitioned")
        write_partitioned_archive(gm, path)
        with torch.no_grad():
            expect = model(*args)
        io_dir = os.path.join(out, name + ".io")
        os.makedirs(io_dir, exist_ok=True)
        for i, a in enumerate(args):
            np.save(os.path.join(io_dir, f"in{i}.npy"), a.numpy())
        for i, t in enumerate(torch.utils._pytree.tree_flatten(expect)[0]):
            np.save(os.path.join(io_dir, f"out{i}.npy"), t.numpy())
        print("wrote", path)


def main(argv=None):
    import argparse
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--demo", metavar="OUT_DIR", required=True,
                    help="write the example archives and their .io folders here")
    ap.add_argument("--torchcheck", metavar="DIR", required=True,
                    help="folder of check_pt2.py and partition.py")
    ap.add_argument("--abi", type=int, default=6, choices=range(6, 11))
    a = ap.parse_args(argv)
    demo(a.demo, a.torchcheck, a.abi)


if __name__ == "__main__":
    main()
