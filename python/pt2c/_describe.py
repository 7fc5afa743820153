"""The torch side of pt2c.save: a Torch-TensorRT compiled module -> the module.json of a
partitioned-module archive (docs/partitioned-format.md) plus where each member's bytes live.

Nothing is copied or encoded here: a weight member is its tensor's whole untyped storage (CPU:
borrowed by address; CUDA or other devices: pulled to the host a piece at a time while the .pt2
is written), an engine member is the engine's raw bytes as the module holds them. Tied weights
and views of one storage with one dtype share a member.

Engine submodules are recognised by what they hold, for every Torch-TensorRT release 2.5 to the
development head (docs/python.md has the table; notes in ../shared/docs/torch-tensorrt-notes.md):
  1. a Python TRTEngine / EngineSerializer (2.13+): `engine.serialized_info`, raw engine at [3];
  2. TorchTensorRTModule (C++ runtime): `_pack_engine_info()` with `serialized_engine` bytes (the
     record Torch-TensorRT builds its engine from; its name field slugified as the C++ runtime
     writes it);
  3. a TorchBind tensorrt.Engine without `serialized_engine` (e.g. loaded through a state dict):
     `engine.__getstate__()`, whose engine field is base64 (decoded: the one copy we make);
  4. PythonTorchTensorRTModule (2.5-2.12, Python runtime): the record built from its attributes
     as the C++ runtime's module of the same release would pack it (needs the target release).
Wrappers: CudaGraphsTorchTensorRTModule (`compiled_module`) and MutableTorchTensorRTModule (`gm`)
are unwrapped.
"""
import base64
import copy
import functools
import json
import pickle

# torch.memory_format / torch.layout -> PT2 MemoryFormat / Layout (torch/_export/serde/schema.py)
MEMORY_FORMATS = {"torch.contiguous_format": 1, "torch.channels_last": 2,
                  "torch.channels_last_3d": 3, "torch.preserve_format": 4}
LAYOUTS = {"torch.sparse_coo": 1, "torch.sparse_csr": 2, "torch.sparse_csc": 3,
           "torch.sparse_bsr": 4, "torch.sparse_bsc": 5, "torch._mkldnn": 6, "torch.strided": 7}
ENGINE_QUALNAME = "__torch__.torch.classes.tensorrt.Engine"
# Torch-TensorRT release -> engine record ABI (core/runtime/runtime.h at each release tag)
RELEASE_ABI = {"2.5": 6, "2.6": 6, "2.7": 7, "2.8": 7, "2.9": 7, "2.10": 7, "2.11": 8, "2.12": 9,
               "2.13": 9, "head": 10}
PLATFORMS = {"LINUX_X86_64": "linux_x86_64", "LINUX_AARCH64": "linux_aarch64",
             "WIN_X86_64": "windows_x86_64", "WIN_ARM64": "windows_arm64", "UNKNOWN": "unknown"}


class SaveError(Exception):
    """A module pt2c.save cannot write: the message names the submodule and what to do."""


class Members:
    """Member naming: one weights/<i> per distinct (storage, dtype), in first-seen order, and one
    engines/<submodule> per engine. Each member keeps the object its bytes live in."""

    def __init__(self):
        self.weights = []   # (name, nbytes, untyped storage)
        self.engines = []   # (name, bytes-like or uint8 tensor)
        self._by_key = {}

    def weight(self, storage, dtype):
        key = (storage.data_ptr(), str(storage.device), str(dtype), storage.nbytes())
        name = self._by_key.get(key)
        if name is None:
            name = f"weights/{len(self.weights)}"
            self._by_key[key] = name
            self.weights.append((name, storage.nbytes(), storage))
        return name

    def engine(self, subname, data):
        name = "engines/" + subname
        if any(n == name for n, _ in self.engines):
            raise SaveError(f"two engines named {subname}")
        self.engines.append((name, data))
        return {"member": name}


def unwrap(module):
    """The compiled GraphModule inside Torch-TensorRT's wrappers (or module itself)."""
    seen = 0
    while seen < 8:
        seen += 1
        names = {c.__name__ for c in type(module).__mro__}
        if "CudaGraphsTorchTensorRTModule" in names and hasattr(module, "compiled_module"):
            module = module.compiled_module
        elif "MutableTorchTensorRTModule" in names or {"gm", "refit_state", "original_model"} <= set(vars(module)):
            gm = vars(module).get("gm")  # __getattr__ forwards to the user's model: read the dict
            if gm is None:
                raise SaveError("MutableTorchTensorRTModule has not been compiled yet (its gm is None): "
                                "run it once on example inputs, or call .compile(), then save")
            module = gm
        else:
            return module
    return module


class _Recorded:
    """Holds an engine record taken from an engine object (engine field: raw bytes)."""

    def __init__(self, rec):
        self.serialized_info = rec


def from_exported_program(ep):
    """A partitioned GraphModule equivalent to ExportedProgram ep: ep.module() (weights unlifted
    into attributes) with each execute_engine call on a tensorrt.Engine attribute turned back into
    a call of an engine submodule _run_on_acc_<k>, as Torch-TensorRT's partitioner leaves them.
    The user's program is not modified."""
    import torch
    import torch.nn as nn
    gm = ep.module()
    g = gm.graph
    for n in list(g.nodes):
        if n.op == "call_module" and n.target == "_guards_fn":  # torch >= 2.9 adds an input guard
            g.erase_node(n)
    # unlifting leaves get_attr nodes in front of the user inputs: placeholders come first here
    anchor = next((n for n in g.nodes if n.op != "placeholder"), None)
    if anchor is not None:
        behind = False
        for n in list(g.nodes):  # one pass: each placeholder behind the anchor moves just before it
            if n is anchor:
                behind = True
            elif behind and n.op == "placeholder":
                anchor.prepend(n)
    execute = torch.ops.tensorrt.execute_engine.default if hasattr(torch.ops.tensorrt, "execute_engine") else None
    k = 0
    for n in list(g.nodes):
        if n.op == "call_function" and "no_op_placeholder_for_execute_engine" in str(n.target):
            raise SaveError("the program is cross-compiled (no_op_placeholder_for_execute_engine): resolve it "
                            "first (pt2c.load) or keep its file and use `pt2c convert`")
        if n.op != "call_function" or execute is None or n.target is not execute:
            continue
        inputs, eng = n.args
        if not isinstance(eng, torch.fx.Node) or eng.op != "get_attr":
            raise SaveError(f"node {n.name}: its engine is not an attribute of the program")
        obj = functools.reduce(getattr, eng.target.split("."), gm)
        se = _script_engine(obj)
        info = getattr(getattr(obj, "real_obj", obj), "serialized_info", None)
        if info is not None:
            rec = list(info)
        elif se is not None:
            state = se.__getstate__()
            rec = list(state[0] if isinstance(state, tuple) and len(state) == 2 else state)
            rec[3] = base64.b64decode(rec[3])
        else:
            raise SaveError(f"node {n.name}: engine attribute {eng.target} is a {type(obj).__name__}, not a "
                            "tensorrt.Engine")
        while hasattr(gm, f"_run_on_acc_{k}"):
            k += 1
        name = f"_run_on_acc_{k}"
        holder = nn.Module()
        holder.engine = _Recorded(rec)
        gm.add_submodule(name, holder)
        vals = n.meta.get("val")
        vals = list(vals) if isinstance(vals, (list, tuple)) else [vals]
        with g.inserting_before(n):
            call = g.call_module(name, tuple(inputs))
        call.meta["val"] = vals
        if len(vals) == 1:  # the partitioned form uses a single output directly
            for u in list(n.users):
                u.replace_all_uses_with(call)
                g.erase_node(u)
        n.replace_all_uses_with(call)
        g.erase_node(n)
        if not eng.users:
            g.erase_node(eng)
    gm.recompile()
    return gm


def _is_bytes_like(x):
    try:
        memoryview(x)
        return True
    except TypeError:
        return False


def _slugify(name):
    return name.replace(".", "_")


def _script_engine(e):
    """The TorchBind tensorrt.Engine behind e (a FakeScriptObject's real object), or None."""
    try:
        e = getattr(e, "real_obj", e)
        t = getattr(e, "_type", None)
        if t is not None and t().qualified_name() == ENGINE_QUALNAME:
            return e
    except Exception:
        return None
    return None


def _device_string(device_id, props, devtype=0):
    return f"{int(device_id)}%{props.major}%{props.minor}%{devtype}%{props.name}"


def _platform(p):
    if p is None:
        return "linux_x86_64"
    if isinstance(p, str):
        return p
    return PLATFORMS.get(getattr(p, "name", str(p)).upper(), str(p).lower())


def _python_runtime_record(name, m, release):
    """PythonTorchTensorRTModule (2.5-2.12): the record the C++ runtime module of that release
    would pack from the same compilation (Torch-TensorRT itself cannot save these modules)."""
    import torch
    abi = RELEASE_ABI[release]
    settings = getattr(m, "settings", None)
    dev_id = getattr(m, "target_device_id", 0) or 0
    props = getattr(m, "target_device_properties", None)
    if props is None:
        props = torch.cuda.get_device_properties(dev_id)
    # the metadata dict's keys per release (TorchTensorRTModule._pack_engine_info at each tag)
    meta = {"settings": settings}
    if release not in ("2.13", "head"):
        meta["weight_name_map"] = getattr(m, "weight_name_map", None)
    if abi >= 8:
        meta["inout_symexprs"] = getattr(m, "symbolic_shape_expressions", None)
    if release not in ("2.5", "2.6", "2.7", "2.8", "2.9"):
        meta["output_tensors_are_unowned"] = False
    try:
        meta_b64 = base64.b64encode(pickle.dumps(copy.deepcopy(meta))).decode("utf-8")
    except Exception as e:
        raise SaveError(f"{name}: its settings cannot be pickled for the engine metadata ({e})")
    mname = getattr(m, "name", "") or ""
    rec = [str(abi), _slugify(mname + "_engine" if mname else "tensorrt_engine"),
           _device_string(dev_id, props), m.serialized_engine,
           "%".join(getattr(m, "input_names", [])), "%".join(getattr(m, "output_names", [])),
           str(int(bool(getattr(settings, "hardware_compatible", False)))), meta_b64,
           _platform(getattr(m, "target_platform", None))]
    if abi >= 7:
        rec.append(str(int(bool(getattr(m, "requires_output_allocator", False)))))
    if abi >= 8:
        rec.append(str(int(bool(getattr(settings, "dynamically_allocate_resources", False)))))
    if abi >= 9:
        rec.append(str(int(bool(getattr(m, "_has_nccl_ops", False)))))
    if abi >= 10:
        rec.append("")
    return rec


def engine_record(name, m, target=None):
    """The engine record of engine submodule m (field 3 = raw bytes), or None if m holds none."""
    e = getattr(m, "engine", None)
    try:
        info = getattr(e, "serialized_info", None)
    except Exception:  # a TorchBind object answers unknown attributes with its own errors
        info = None
    if info is not None and len(info) > 3 and _is_bytes_like(info[3]):
        return list(info)
    raw = getattr(m, "serialized_engine", None)
    if hasattr(m, "_pack_engine_info") and raw is not None and _is_bytes_like(raw):
        try:
            rec = list(m._pack_engine_info())
        except NotImplementedError:
            rec = None
        if rec is not None:
            rec[1] = _slugify(rec[1])
            return rec
    se = _script_engine(e)
    if se is not None:
        state = se.__getstate__()
        rec = list(state[0] if isinstance(state, tuple) and len(state) == 2 and isinstance(state[1], str) else state)
        rec[3] = base64.b64decode(rec[3])
        return rec
    if type(m).__name__ == "PythonTorchTensorRTModule" or hasattr(m, "input_names") and raw is not None:
        if raw is None or not _is_bytes_like(raw):
            raise SaveError(f"{name}: PythonTorchTensorRTModule without serialized_engine bytes")
        release = str(target) if target else _installed_release()
        if release not in RELEASE_ABI:
            raise SaveError(f"{name} is a PythonTorchTensorRTModule (Python runtime): say which Torch-TensorRT "
                            "release will load the file with target='2.x', or compile with "
                            "use_python_runtime=False")
        return _python_runtime_record(name, m, release)
    return None


def _installed_release():
    """The installed Torch-TensorRT's release ("2.12"), or None."""
    try:
        import torch_tensorrt
        return ".".join(torch_tensorrt.__version__.split(".")[:2])
    except Exception:
        return None


def describe(gm, members, target=None):
    """The archive-form module.json of partitioned GraphModule gm (a dict), registering weights
    and engines in `members`."""
    import torch
    import torch.utils._pytree as pytree
    symbols = {}
    known = dict(gm.meta.get("symbol_ranges", {}))  # the exported program's own ranges, if kept

    SymInt = torch.SymInt
    dtype_names, device_names = {}, {}

    def size(d):
        if type(d) is int:
            return d
        if isinstance(d, SymInt):
            expr, shape_env = d.node.expr, d.node.shape_env
            for sym in expr.free_symbols:
                r = shape_env.var_to_range.get(sym)
                if r is not None:
                    symbols[str(sym)] = [int(r.lower), int(r.upper) if r.upper.is_finite else None]
            return str(expr)
        return int(d)

    def tmeta(t):
        dt, dev = t.dtype, t.device
        dn = dtype_names.get(dt)
        if dn is None:
            dn = dtype_names[dt] = str(dt).replace("torch.", "")
        dv = device_names.get(dev)
        if dv is None:
            dv = device_names[dev] = str(dev)
        return {"dtype": dn, "sizes": [size(d) for d in t.shape], "strides": [size(d) for d in t.stride()],
                "device": dv}

    def weight(t, persistent=True):
        w = tmeta(t)
        w["data_member"] = members.weight(t.untyped_storage(), t.dtype)
        if t.storage_offset():
            w["storage_offset"] = int(t.storage_offset())
        w["requires_grad"] = bool(t.detach().requires_grad)  # as describe() writes it: false
        if not persistent:
            w["persistent"] = False
        return w

    Node, Tensor = torch.fx.Node, torch.Tensor

    def arg(a):
        if type(a) is Node:
            return {"node": a.name}
        if isinstance(a, Node):
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

    plain = (int, float, str, bool, type(None))

    def args_of(a):
        """arg() of a node's args tuple, with the common cases (nodes, scalars) inline."""
        out = []
        for x in a:
            tx = type(x)
            if tx is Node:
                out.append({"node": x.name})
            elif tx in plain:
                out.append(x)
            else:
                out.append(arg(x))
        return out

    def one(t):
        if isinstance(t, Tensor):
            return tmeta(t)
        if isinstance(t, torch.SymInt):
            return {"symint": size(t)}
        return {"repr": repr(t)}

    def meta(n):
        v = n.meta.get("val")
        if isinstance(v, (list, tuple)):
            return [one(t) for t in v]
        return one(v) if v is not None else None

    schemas = {}
    target_names = {}

    def target_of(n):
        t = n.target
        if type(t) is str:
            return t
        name = target_names.get(t)
        if name is not None:
            return name
        if isinstance(t, torch._ops.OpOverload):
            name = f"torch.ops.{t.namespace}.{t._opname}.{t._overloadname}"
            if t.namespace not in ("aten", "prims"):
                schemas[name] = str(t._schema)
        elif isinstance(t, str):
            return t
        else:
            name = f"{t.__module__}.{t.__name__}"
        target_names[t] = name
        return name

    raw_graphs = []

    def graph(g):
        """The node list as JSON text, encoded BATCH nodes at a time so that the dicts of only one
        batch exist at once (a graph of 1M nodes would otherwise hold ~1 KB of dicts a node);
        returned as a placeholder that module_json() swaps for the text."""
        parts, batch = [], []
        for n in g.nodes:
            kw = n.kwargs
            batch.append({"op": n.op, "name": n.name, "target": target_of(n), "args": args_of(n.args),
                          "kwargs": arg(kw) if kw else {}, "val": meta(n)})
            if len(batch) == BATCH:
                parts.append(json.dumps(batch, separators=(",", ":"))[1:-1])
                batch.clear()
        if batch:
            parts.append(json.dumps(batch, separators=(",", ":"))[1:-1])
        raw_graphs.append("[" + ",".join(parts) + "]")
        return RAW_MARK + str(len(raw_graphs) - 1)

    def weights(m, skip=()):
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
    called = {n.target for n in gm.graph.nodes if n.op == "call_module"}
    for name, m in gm.named_children():
        if name not in called:
            continue
        m = unwrap(m)
        if isinstance(m, torch.fx.GraphModule):
            p, b, c = weights(m)
            subs[name] = {"kind": "graph", "graph": graph(m.graph), "parameters": p, "buffers": b}
            if c:
                subs[name]["constants"] = c
            continue
        rec = engine_record(name, m, target)
        if rec is None:
            raise SaveError(f"submodule {name} ({type(m).__name__}) is neither a torch.fx.GraphModule nor a "
                            "Torch-TensorRT engine module holding its engine bytes (serialized_engine, "
                            "engine.serialized_info or a tensorrt.Engine): nothing to export it from")
        raw = rec[3]
        if isinstance(raw, torch.Tensor):
            raw = raw.detach().cpu().contiguous().view(torch.uint8)
        elif not _is_bytes_like(raw):
            raise SaveError(f"{name}: engine record field 3 is a {type(raw).__name__}, not bytes")
        rec[3] = members.engine(name, raw)
        subs[name] = {"kind": "engine", "engine_record": rec}
    top_p, top_b, top_c = weights(gm, skip={name for name, _ in gm.named_children()})
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
    doc[RAW_KEY] = raw_graphs
    return doc


BATCH = 4096
RAW_MARK = "\u0000pt2c-graph-"  # a JSON string no graph, name or target can hold (NUL)
RAW_KEY = "\u0000raw"


def module_json(doc):
    """The module.json bytes of a describe() result: the graphs' JSON text put in place of their
    placeholders."""
    raw = doc.pop(RAW_KEY, [])
    text = json.dumps(doc, separators=(",", ":"))
    for i in range(len(raw) - 1, -1, -1):  # from the last: "...-1" is not a prefix of "...-10"
        text = text.replace(json.dumps(RAW_MARK + str(i)), raw[i], 1)
    doc[RAW_KEY] = raw
    return text.encode("utf-8")
