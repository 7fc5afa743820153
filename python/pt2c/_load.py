"""pt2c.load's fast path: torch.export.load's result, built without its slow steps.

torch.export.load (PyTorch 2.11, torch/export/pt2_archive/_package.py) spends its time in two
places that have nothing to do with the program itself:
- `_dict_to_dataclass` turns the model.json dicts into schema dataclasses by calling
  `typing.get_type_hints` on every class for every object (70% of a 40k-node load);
- `torch._C._pickle_load_obj` unpickles each TensorRT engine object, whose state carries the
  engine as a base64 string that the runtime then decodes (30 s for eight 128 MiB engines).

Here the archive is mapped once (member offsets from the C library's zip reader), weights are
tensors over a private copy-on-write mapping of the file (no read into a second buffer), the
dataclasses come from converters built once per schema type (the same rules as
`_dict_to_dataclass`, applied in the same order), engine objects are constructed directly from
their raw bytes (decoded by the C library) and record strings -- the same constructor their
`__setstate__` ends in -- and the rest is PyTorch's own `ExportedProgramDeserializer`, so the
graph, signature, state dict, constants and range constraints are what torch.export.load makes.
Three steps of that deserializer are done faster, with the same result:
- the plain nodes of the top graph and its statically shaped tensor metadata are read from the
  JSON dicts, never made into dataclasses (_rawgraph.py);
- the FakeTensor of a statically shaped value is made directly (_tensor_meta_fast);
- the deserializer's own GraphModule of the top graph, which ExportedProgram.__init__ only
  copies, is not compiled (_uncompiled_top_module): upstream compiles the code twice.

Anything this path does not know (another archive layout, compressed members, legacy weight
files, an engine object the C library does not recognise, another PyTorch version: _FAST_TORCH)
is loaded the way PyTorch loads it.
"""
import contextlib
import dataclasses
import io
import mmap
import os
import re
import threading
import typing

from . import _lib, _rawgraph


class _Fallback(Exception):
    """This archive needs torch.export.load's own path (reason in the message)."""


# MARK: schema dicts -> dataclasses

class _Converters:
    """One converter a schema type, built on first use. Each converter does exactly what
    torch._export.serde.serialize._dict_to_dataclass does for that type, without re-resolving
    type hints per object."""

    def __init__(self, schema, union_cls, union_tag, resolve, slow):
        self.schema = schema
        self.union_cls = union_cls
        self.union_tag = union_tag  # _UnionTag.create
        self.resolve = resolve  # _resolve_schema_cls
        self.slow = slow        # _dict_to_dataclass: for shapes this class does not specialise
        self.cache = {}

    def get(self, tp):
        try:
            return self.cache[tp]
        except (KeyError, TypeError):
            pass
        conv = self._build(tp)
        try:
            self.cache[tp] = conv
        except TypeError:
            pass
        return conv

    # A converter calls the converters of its parts directly. Only a class (dataclass or union)
    # looks its fields' converters up late -- on its first object, when its own converter is in
    # the cache -- which is what makes the recursive schema types (Argument -> Graph -> Node ->
    # Argument) terminate; every cycle of the schema passes through a class.

    def _build(self, tp):
        cls = self.resolve(tp)
        if isinstance(cls, str):
            return lambda data: self.slow(tp, data)  # raises as upstream does
        origin = typing.get_origin(cls)
        if origin is typing.Annotated:
            return self.get(cls.__origin__)
        if origin == typing.Union and type(None) in typing.get_args(cls):
            args = typing.get_args(cls)
            if len(args) != 2:
                return lambda data: self.slow(cls, data)
            inner = self.get(args[0])
            return lambda data: None if data is None else inner(data)
        if isinstance(cls, type) and issubclass(cls, self.union_cls):
            return self._union(cls)
        if dataclasses.is_dataclass(cls):
            return self._dataclass(cls)
        return self._other(cls)

    def _union(self, cls):
        hints = typing.get_type_hints(cls, globalns=vars(self.schema))
        field_convs = {}
        names = [f.name for f in dataclasses.fields(cls)]
        # _Union.create(**{k: v}) is cls(**{every field: None, k: v}) (whose __post_init__ only
        # checks the class's field names: done once here) and then `_type` set to a tag; the
        # object is built the same way without the per-object dataclasses.fields() calls
        # (_Union has no __setattr__ of its own: its __dict__ is written directly).
        if any(n in ("type", "_type", "create", "value") for n in names):
            return lambda data: self.slow(cls, data)
        nones = dict.fromkeys(names)
        # one _UnionTag a field name, shared by the objects of this class (upstream makes one an
        # object; a tag is an immutable str compared and hashed by its text)
        tags = {k: self.union_tag(k, cls) for k in names}
        new = object.__new__
        slow = self.slow

        def conv(data):
            if type(data) is not dict or len(data) != 1:
                return slow(cls, data)  # raises the upstream assertion
            for k, v in data.items():
                c = field_convs.get(k)
                if c is None:
                    if not isinstance(k, str) or k not in hints or k not in nones:
                        return slow(cls, data)
                    c = field_convs[k] = self.get(hints[k])
                obj = new(cls)
                d = obj.__dict__
                d.update(nones)
                d[k] = c(v)
                d["_type"] = tags[k]
                return obj
        return conv

    def _dataclass(self, cls):
        hints = typing.get_type_hints(cls, globalns=vars(self.schema))
        spec = [(f.name, hints[f.name]) for f in dataclasses.fields(cls)]
        box = [None]  # the fields' converters, published whole (another thread may be converting)

        def conv(data):
            fields = box[0]
            if fields is None:
                fields = box[0] = [(name, self.get(tp)) for name, tp in spec]
            kw = {}
            for name, c in fields:
                if name in data:
                    kw[name] = c(data[name])
            return cls(**kw)
        return conv

    def _other(self, cls):
        args = typing.get_args(cls)
        slow = self.slow
        if not args:
            # a leaf (int, str, bool, float): upstream returns the value (float() of it for
            # float); a list or dict where a leaf belongs takes upstream's path (it raises there)
            if cls is float:
                return lambda data: slow(cls, data) if isinstance(data, (list, dict)) else float(data)
            return lambda data: slow(cls, data) if isinstance(data, (list, dict)) else data
        elem = self.get(args[0])
        val = self.get(args[1]) if len(args) >= 2 else None

        def conv(data):
            if isinstance(data, list):
                if len(data) == 0:
                    return data
                return [elem(d) for d in data]
            if isinstance(data, dict):
                if val is None:
                    return slow(cls, data)
                return {k: val(v) for k, v in data.items()}
            return data
        return conv


_CONVERTERS = None


def _converters():
    global _CONVERTERS
    if _CONVERTERS is None:
        from torch._export.serde import schema
        from torch._export.serde import serialize
        from torch._export.serde.union import _Union, _UnionTag
        _CONVERTERS = _Converters(schema, _Union, _UnionTag.create, serialize._resolve_schema_cls,
                                  serialize._dict_to_dataclass)
    return _CONVERTERS


def to_dataclass(cls, data):
    """_dict_to_dataclass(cls, data), fast."""
    return _converters().get(cls)(data)


# MARK: the archive, mapped

_LINE = re.compile(r" *([0-9]+) +([0-9]+) [0-9a-f]{8} (.*)", re.S)


class _Archive:
    """The members of a .pt2 by the names PyTorchFileReader gives them (without the archive's
    top folder), each a (data offset, size) into one read-only mapping of the file."""

    def __init__(self, path):
        self.path = path
        listing = _lib.archive_list(path)
        self.members = {}
        self.prefix = None
        for line in listing.split("\n"):
            if not line:
                continue
            m = _LINE.fullmatch(line)
            if m is None:
                raise _Fallback(f"unexpected member listing line {line!r}")
            off, size, name = m.group(1), m.group(2), m.group(3)
            if self.prefix is None:
                self.prefix = name.split("/", 1)[0] + "/" if "/" in name else ""
            if not name.startswith(self.prefix):
                raise _Fallback(f"member {name} outside the archive folder {self.prefix}")
            self.members[name[len(self.prefix):]] = (int(off), int(size))
        with open(path, "rb") as f:
            size = os.fstat(f.fileno()).st_size
            # ACCESS_COPY: private copy-on-write pages, so tensors over it are writable like the
            # ones torch.export.load makes, and writing to them never reaches the file.
            self.map = mmap.mmap(f.fileno(), 0, access=mmap.ACCESS_COPY) if size else None

    def names(self):
        return list(self.members)

    def has(self, name):
        return name in self.members

    def span(self, name):
        try:
            return self.members[name]
        except KeyError:
            raise _Fallback(f"no member {name}") from None

    def read_bytes(self, name):
        off, size = self.span(name)
        return self.map[off:off + size] if size else b""

    def read_string(self, name):
        return self.read_bytes(name).decode()


# MARK: state dict and constants

def _flat_tensor(archive, name, tensor_meta):
    """_create_flat_tensor_from_bytes over the mapping (no copy for CPU tensors)."""
    import torch
    from torch._export.serde.serialize import deserialize_scalar_type, deserialize_size, deserialize_device
    dtype = deserialize_scalar_type(tensor_meta.dtype)
    device = deserialize_device(tensor_meta.device)
    off, size = archive.span(name)
    if size == 0:
        return torch.zeros(deserialize_size(tensor_meta.sizes), dtype=dtype, device=device)
    itemsize = torch.empty((), dtype=dtype).element_size()
    if size % itemsize:
        raise _Fallback(f"member {name}: {size} bytes is not a whole number of {dtype}")
    t = torch.frombuffer(archive.map, dtype=dtype, count=size // itemsize, offset=off,
                         requires_grad=tensor_meta.requires_grad)
    return t.to(device)


def _payloads(archive, config, base_dir, engines, kind):
    """_load_state_dict / _load_constants of torch/export/pt2_archive/_package.py."""
    import torch
    from torch._export.serde.serialize import deserialize_size, deserialize_stride, deserialize_storage_offset
    from torch.export.pt2_archive import constants as C
    files = {}
    for meta in config.config.values():
        if meta.use_pickle or meta.path_name in files:
            continue
        if meta.tensor_meta is None:
            raise _Fallback(f"{kind} {meta.path_name} has no tensor_meta")
        files[meta.path_name] = _flat_tensor(archive, base_dir + meta.path_name, meta.tensor_meta)
    out = {}
    for fqn, meta in config.config.items():
        path = meta.path_name
        if kind == "constant" and path.startswith(C.CUSTOM_OBJ_FILENAME_PREFIX):
            obj = engines.get(fqn)
            if obj is None:
                obj = torch._C._pickle_load_obj(archive.read_bytes(base_dir + path))
            out[fqn] = obj
            continue
        if kind == "constant" and not path.startswith(C.TENSOR_CONSTANT_FILENAME_PREFIX):
            raise RuntimeError(f"Unsupported constant type: {path}")
        if meta.use_pickle:
            out[fqn] = torch.load(io.BytesIO(archive.read_bytes(base_dir + path)), weights_only=False)
            continue
        tm = meta.tensor_meta
        t = torch.as_strided(input=files[path], size=deserialize_size(tm.sizes),
                             stride=deserialize_stride(tm.strides),
                             storage_offset=deserialize_storage_offset(tm.storage_offset))
        if kind == "weight" and meta.is_param:
            t = torch.nn.Parameter(t, requires_grad=tm.requires_grad)
        out[fqn] = t
    return out


_TORCHBIND_ENGINE = b"__torch__.torch.classes.tensorrt\nEngine"


def _engine_objects(archive, path, custom):
    """{constant name: tensorrt.Engine} for the TorchBind engine objects among `custom`
    ({constant name: member}) that the C library decodes: each constructed from the raw engine
    bytes and the record's other strings -- what its __setstate__ does after decoding the base64
    engine. Others (Python-pickled 2.13+ engines, other classes) are left to torch."""
    import json
    import torch
    out = {}
    if not custom:
        return out
    try:
        cls = torch.classes.tensorrt.Engine
    except (AttributeError, RuntimeError):
        return out  # no runtime registered: torch's own unpickling raises the right error
    with _lib.Program.open(path) as p:
        todo = []
        for i, e in enumerate(p.engines()):
            member = custom.get(e["owner"])
            if member is None:
                continue  # a cross-compile placeholder (node argument), not a constant
            off, size = archive.span(member)
            if _TORCHBIND_ENGINE not in archive.map[off:off + min(size, 4096)]:
                continue
            rec = json.loads(p.engine_record_json(i))
            rec.pop("owner")
            todo.append((e["owner"], i, list(rec.values())))
        # Decoding an engine object's engine only reads the program (include/pt2c/program.h), and
        # ctypes lets go of the GIL in the call: the engines are decoded at once.
        if len(todo) > 1:
            from concurrent.futures import ThreadPoolExecutor
            usable = len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else os.cpu_count() or 1
            with ThreadPoolExecutor(min(len(todo), usable)) as pool:
                raw = list(pool.map(p.engine_bytes, [i for _, i, _ in todo]))
        else:
            raw = [p.engine_bytes(i) for _, i, _ in todo]
        for (owner, _, fields), eng in zip(todo, raw):
            fields[3] = eng
            out[owner] = cls(fields)
    return out


# MARK: graph

def _tensor_meta_fast(d, slow):
    """GraphModuleDeserializer.deserialize_tensor_meta for static shapes: the FakeTensor that
    torch.empty_strided makes under the deserializer's FakeTensorMode (a meta tensor of those
    sizes, strides, dtype and requires_grad wrapped for the tensor's device), built directly
    instead of through the mode's dispatch (a third of a large graph's load). Symbolic sizes or
    strides take the upstream method `slow`."""
    import torch
    from torch._subclasses.fake_tensor import FakeTensor
    from torch._export.serde import schema
    from torch._export.serde.serialize import _SERIALIZE_TO_TORCH_DTYPE, deserialize_device
    devices = {}
    empty = torch.empty_strided

    def ints(vals):
        out = []
        for v in vals:
            x = v.__dict__.get("as_int")
            if type(x) is not int:
                return None
            out.append(x)
        return out

    def fake(sizes, strides, dtype, requires_grad, dk, schema_device):
        """The FakeTensor; schema_device() gives the schema Device when (type, index) dk is new."""
        dev = devices.get(dk)
        if dev is None:
            dev = devices[dk] = deserialize_device(schema_device())
        meta = empty(sizes, strides, dtype=_SERIALIZE_TO_TORCH_DTYPE[dtype], device="meta")
        if requires_grad:
            meta.requires_grad_(True)
        return FakeTensor(d.fake_tensor_mode, meta, dev)

    def fast(tm):
        if type(tm) is dict:
            # a dict _rawgraph.take_top_graph kept (its shape checked there: concrete sizes,
            # strides and storage offset, a Device, an int dtype, a bool requires_grad)
            dv = tm["device"]
            return fake([s["as_int"] for s in tm["sizes"]], [s["as_int"] for s in tm["strides"]], tm["dtype"],
                        tm["requires_grad"], (dv["type"], dv.get("index")), lambda: to_dataclass(schema.Device, dv))
        sizes = ints(tm.sizes)
        strides = ints(tm.strides) if sizes is not None else None
        if strides is None:
            return slow(tm)
        return fake(sizes, strides, tm.dtype, tm.requires_grad, (tm.device.type, tm.device.index), lambda: tm.device)
    return fast


# One deserialization at a time: the graph deserializer has process-wide state of its own
# (serialize._CURRENT_DESERIALIZER), and _uncompiled_top_module swaps a module attribute.
_DESERIALIZING = threading.Lock()


@contextlib.contextmanager
def _uncompiled_top_module(ep_module, top_graph):
    """While the graph deserializer runs on this thread, its GraphModule of the top graph is made
    without generating and compiling its Python code (torch.fx's _LazyGraphModule).

    That module only carries the graph and its attributes into ExportedProgram.__init__, which
    makes the program's own GraphModule of the same graph (and compiles that one): upstream
    compiles the code of a large graph twice, a third of a 40k-node load. Subgraphs (cond,
    while_loop bodies) and calls from other threads get upstream's function unchanged.
    ExportedProgram.__init__ itself runs after this context ends."""
    try:
        from torch.fx._lazy_graph_module import _LazyGraphModule
    except ImportError:
        yield
        return
    upstream = ep_module._create_graph_module_for_export
    me = threading.get_ident()

    def create(root, graph):
        if graph is top_graph and threading.get_ident() == me:
            return _LazyGraphModule(root, graph)
        return upstream(root, graph)
    ep_module._create_graph_module_for_export = create
    try:
        yield
    finally:
        ep_module._create_graph_module_for_export = upstream


def _deserialize(serialized, state_dict, constants, example_inputs):
    """ExportedProgramDeserializer().deserialize (torch/_export/serde/serialize.py, 2.11), with
    the graph deserializer's tensor metadata built by _tensor_meta_fast, its raw nodes read by
    _rawgraph.install's methods, and its GraphModule of the top graph left uncompiled
    (_uncompiled_top_module)."""
    from torch._export.serde import schema
    from torch._export.serde import serialize as S
    version = serialized.schema_version
    if version.major != S.SCHEMA_VERSION[0] and not (version.major == 0 and version.minor == 0):
        raise S.SerializeError(f"Serialized schema version {serialized.schema_version} "
                               f"does not match our current schema version {S.SCHEMA_VERSION}.")
    symbol_name_to_range = {
        k: S.symbolic_shapes.ValueRanges(S._int_to_sympy_int(v.min_val, -S.int_oo),
                                         S._int_to_sympy_int(v.max_val, S.int_oo))
        for k, v in serialized.range_constraints.items()
    }
    gd = S.GraphModuleDeserializer()
    gd.deserialize_tensor_meta = _tensor_meta_fast(gd, gd.deserialize_tensor_meta)
    _rawgraph.install(gd, S, to_dataclass, schema)
    with _DESERIALIZING, _uncompiled_top_module(S.ep, gd.graph):
        res = gd.deserialize(serialized.graph_module, state_dict, constants, example_inputs, symbol_name_to_range)
    range_constraints = S.ExportedProgramDeserializer(None).deserialize_range_constraints(
        symbol_name_to_range, res.names_to_symbols)
    result = S.ep.ExportedProgram(
        root=res.graph_module,
        graph=res.graph_module.graph,
        graph_signature=res.signature,
        state_dict=res.state_dict,
        range_constraints=range_constraints,
        module_call_graph=res.module_call_graph,
        example_inputs=res.example_inputs,
        constants=res.constants,
        verifiers=[S.load_verifier(v) for v in serialized.verifiers],
    )
    result._guards_code = serialized.guards_code
    return result


# MARK: load

# The PyTorch versions (major, minor) whose torch.export.load this path was compared with on every
# fixture (tests/python/load_equal.py). It copies steps of their graph deserializer, so any
# other version loads through torch.export.load.
_FAST_TORCH = ((2, 11),)


def fast_torch_version(v):
    """Whether torch.__version__ `v` is a release of _FAST_TORCH (2.11.0, 2.11.1+cu130), not a
    pre-release or nightly build, whose deserializer may differ."""
    m = re.fullmatch(r"([0-9]+)\.([0-9]+)\.[0-9]+(\+[0-9A-Za-z.]+)?", v)
    return m is not None and (int(m.group(1)), int(m.group(2))) in _FAST_TORCH


def load(path, extra_files=None):
    """torch.export.load(path, extra_files=extra_files), fast; raises _Fallback where the archive
    needs PyTorch's own path."""
    import torch
    from torch._export.serde import schema
    from torch.export.pt2_archive import constants as C
    path = os.fspath(path)
    if not fast_torch_version(torch.__version__):
        raise _Fallback(f"PyTorch {torch.__version__}: this path copies steps of the deserializer of PyTorch "
                        + ", ".join(f"{a}.{b}" for a, b in _FAST_TORCH) + " and was compared with that one only")
    archive = _Archive(path)
    if archive.map is None:
        raise _Fallback("empty file")
    if archive.read_string(C.ARCHIVE_FORMAT_PATH) != C.ARCHIVE_FORMAT_VALUE:
        raise _Fallback("not a pt2 archive")
    if archive.read_string(C.ARCHIVE_VERSION_PATH) != C.ARCHIVE_VERSION_VALUE:
        raise _Fallback("another archive version")
    names = archive.names()
    model = C.MODELS_FILENAME_FORMAT.format("model")
    models = [n for n in names if n.startswith(C.MODELS_DIR)]
    if models != [model]:
        raise _Fallback(f"models {models}")
    if any(n.startswith(C.AOTINDUCTOR_DIR) for n in names):
        raise _Fallback("AOTInductor artifacts")
    for legacy in (f"{C.WEIGHTS_DIR}model.pt", f"{C.CONSTANTS_DIR}model.pt"):
        if archive.has(legacy):
            raise _Fallback("legacy weight files")

    import json
    from concurrent.futures import ThreadPoolExecutor
    ccfg = to_dataclass(schema.PayloadConfig,
                        json.loads(archive.read_string(C.CONSTANTS_CONFIG_FILENAME_FORMAT.format("model"))))
    custom = {fqn: C.CONSTANTS_DIR + m.path_name for fqn, m in ccfg.config.items()
              if m.path_name.startswith(C.CUSTOM_OBJ_FILENAME_PREFIX)}
    with ThreadPoolExecutor(1) as bg:
        # the engines are read by the C library (which lets go of the GIL) while the program's
        # JSON is converted here
        engines_job = bg.submit(_engine_objects, archive, path, custom)
        sample_inputs = archive.read_bytes(C.SAMPLE_INPUTS_FILENAME_FORMAT.format("model"))
        doc = json.loads(archive.read_bytes(model).decode("utf-8"))
        put_back = _rawgraph.take_top_graph(doc, schema, to_dataclass)
        serialized = to_dataclass(schema.ExportedProgram, doc)
        if put_back is not None:
            put_back(serialized)
        del doc
        wcfg = to_dataclass(schema.PayloadConfig,
                            json.loads(archive.read_string(C.WEIGHTS_CONFIG_FILENAME_FORMAT.format("model"))))
        state_dict = _payloads(archive, wcfg, C.WEIGHTS_DIR, None, "weight")
        engines = engines_job.result()
    constants = _payloads(archive, ccfg, C.CONSTANTS_DIR, engines, "constant")
    ep = _deserialize(serialized, state_dict, constants, sample_inputs)
    if extra_files is not None:
        for n in names:
            if n.startswith(C.EXTRA_DIR):
                extra_files[n[len(C.EXTRA_DIR):]] = archive.read_string(n)
    return ep
