"""pt2c.load: the top graph's common nodes and tensor metadata without the schema dataclasses.

torch.export.load turns all of model.json into schema dataclasses, then the graph deserializer
reads them back field by field (every argument a _Union whose attribute access is checked). For
a large graph that round trip is most of the load. Here the nodes of the top graph that take the
plain path of GraphModuleDeserializer.deserialize_node -- an OpOverload call with one tensor
output and arguments of the common kinds -- and the statically shaped tensor_values stay the
dicts json.loads made, and the deserializer is given two instance methods that read those dicts
the way its own methods read the dataclasses:

- deserialize_node: for a raw node, PyTorch's steps of the OpOverload branch in its order
  (deserialize_inputs with the schema's positional/keyword rules, create_node under the node's
  name, sync_fx_node of its output, deserialize_metadata, the empty nn_module_stack), each by
  the upstream method where one exists;
- deserialize_input: a raw argument of the kinds listed in _ARG_SHAPES, as upstream returns it.

Everything else -- a node of any other kind (engines with several outputs, symbolic ops, higher
order ops, asserts), a value with symbolic sizes, and anything whose shape is not exactly what
the schema allows -- is converted to its dataclass before deserialization starts and takes
PyTorch's own code. The checks below admit a dict only when the schema conversion of it cannot
fail, so a malformed model.json raises what PyTorch raises; with faults in several places the
one reported may be another of them.

Written against PyTorch 2.11 (torch/_export/serde/serialize.py, schema.py); pt2c.load uses it
only on the PyTorch versions it was compared on (pt2c._load._FAST_TORCH).
"""
import dataclasses

_NONE = type(None)


def _required(cls):
    return {f.name for f in dataclasses.fields(cls)
            if f.default is dataclasses.MISSING and f.default_factory is dataclasses.MISSING}


def _names(cls):
    return frozenset(f.name for f in dataclasses.fields(cls))


class _Shapes:
    """Exact-shape checks of raw schema dicts (field names read from the schema classes).

    Run on every node and value of a large graph, so written flat: the key sets of a dict are
    checked once per distinct key tuple (a graph has a handful), the common argument kinds
    inline. tests/python/test_rawgraph.py holds them to a plain statement of the same rules."""

    def __init__(self, schema):
        self.node = _names(schema.Node)
        self.node_req = _required(schema.Node)
        self.named = _names(schema.NamedArgument)
        self.named_req = _required(schema.NamedArgument)
        self.tensor_arg = _names(schema.TensorArgument)
        self.tensor_arg_req = _required(schema.TensorArgument)
        self.device = _names(schema.Device)
        self.device_req = _required(schema.Device)
        self.meta = _names(schema.TensorMeta)
        self.meta_req = _required(schema.TensorMeta)
        argument = _names(schema.Argument)
        self.args = {k: v for k, v in _ARG_SHAPES.items() if k in argument}
        self._keys = {}  # (allowed, key tuple) -> bool

    def keys_ok(self, d, allowed, required):
        if type(d) is not dict:
            return False
        k = (allowed, tuple(d))
        ok = self._keys.get(k)
        if ok is None:
            ok = self._keys[k] = d.keys() <= allowed and required <= d.keys()
        return ok

    def tensor_arg_ok(self, d):
        return self.keys_ok(d, self.tensor_arg, self.tensor_arg_req) and type(d.get("name")) is str

    def device_ok(self, d):
        return (self.keys_ok(d, self.device, self.device_req) and type(d.get("type")) is str
                and type(d.get("index")) in (int, _NONE))

    def arg_ok(self, a):
        if type(a) is not dict or len(a) != 1:
            return False
        for k, v in a.items():
            check = self.args.get(k)
            return check is not None and check(self, v)

    def node_ok(self, n):
        """A node deserialize_node takes through its plain OpOverload branch (the target is
        checked once resolved) whose dict converts without error."""
        if not self.keys_ok(n, self.node, self.node_req):
            return False
        target, name = n["target"], n.get("name")
        if type(target) is not str or "torch.ops.higher_order" in target:
            return False
        if type(name) is not str or not name:
            return False
        if type(n.get("is_hop_single_tensor_return")) not in (bool, _NONE):
            return False
        md = n["metadata"]
        if type(md) is not dict:
            return False
        for k, v in md.items():
            if type(k) is not str or type(v) is not str:
                return False
        outs = n["outputs"]
        if type(outs) is not list or len(outs) != 1:
            return False
        o = outs[0]
        if type(o) is not dict or len(o) != 1 or not self.tensor_arg_ok(o.get("as_tensor")):
            return False
        ins = n["inputs"]
        if type(ins) is not list:
            return False
        keys_ok, named, named_req, arg_ok = self.keys_ok, self.named, self.named_req, self.arg_ok
        for i in ins:
            if not keys_ok(i, named, named_req) or type(i["name"]) is not str:
                return False
            if type(i.get("kind")) not in (int, _NONE) or not arg_ok(i["arg"]):
                return False
        return True

    def sym_int_ok(self, s):
        return type(s) is dict and len(s) == 1 and type(s.get("as_int")) is int

    def meta_ok(self, m):
        """A TensorMeta of concrete sizes, strides and storage offset."""
        if not self.keys_ok(m, self.meta, self.meta_req):
            return False
        if (type(m.get("dtype")) is not int or type(m.get("layout")) is not int
                or type(m.get("requires_grad")) is not bool or not self.device_ok(m.get("device"))
                or not self.sym_int_ok(m.get("storage_offset"))):
            return False
        for key in ("sizes", "strides"):
            vals = m.get(key)
            if type(vals) is not list:
                return False
            for s in vals:
                if type(s) is not dict or len(s) != 1 or type(s.get("as_int")) is not int:
                    return False
        return True


def _float_ok(v):
    """A JSON number the schema's float() conversion takes (an int beyond a double's range
    raises OverflowError there)."""
    if type(v) is float:
        return True
    if type(v) is not int:
        return False
    try:
        float(v)
    except OverflowError:
        return False
    return True


def _list_of(t):
    return lambda shapes, v: type(v) is list and all(type(x) is t for x in v)


# The argument kinds read raw, with the exact shape the schema converts without error and
# deserialize_input reads without touching another field.
_ARG_SHAPES = {
    "as_none": lambda s, v: type(v) not in (list, dict),
    "as_tensor": lambda s, v: s.tensor_arg_ok(v),
    "as_tensors": lambda s, v: type(v) is list and all(s.tensor_arg_ok(x) for x in v),
    "as_int": lambda s, v: type(v) is int,
    "as_ints": _list_of(int),
    "as_float": lambda s, v: _float_ok(v),
    "as_floats": lambda s, v: type(v) is list and all(_float_ok(x) for x in v),
    "as_bool": lambda s, v: type(v) is bool,
    "as_bools": _list_of(bool),
    "as_string": lambda s, v: type(v) is str,
    "as_strings": _list_of(str),
    "as_scalar_type": lambda s, v: type(v) is int,
    "as_memory_format": lambda s, v: type(v) is int,
    "as_layout": lambda s, v: type(v) is int,
    "as_device": lambda s, v: s.device_ok(v),
}


class RawNode:
    """A node of the top graph kept as its dict. `target` is read by the deserializer's node
    loop; repr is the dataclass's, for the loop's error message."""
    __slots__ = ("raw", "target", "_conv")

    def __init__(self, raw, conv):
        self.raw = raw
        self.target = raw["target"]
        self._conv = conv

    def dataclass(self):
        return self._conv(self.raw)

    def __repr__(self):
        return repr(self.dataclass())


class _NamedArg:
    """What deserialize_inputs reads of a NamedArgument; `arg` is the raw Argument dict."""
    __slots__ = ("name", "arg", "kind")

    def __init__(self, d):
        self.name = d["name"]
        self.arg = d["arg"]
        self.kind = d.get("kind")


class _Inputs:
    __slots__ = ("inputs",)

    def __init__(self, inputs):
        self.inputs = inputs


_SHAPES = None


def take_top_graph(doc, schema, to_dataclass):
    """Take the top graph's nodes and tensor_values out of model.json's dict `doc` (in place:
    emptied there) for the dataclass conversion of the rest; returns a function that puts them
    back into the converted program -- raw where read raw, converted otherwise -- or None when
    the document is not of the expected shape (then nothing was taken)."""
    global _SHAPES
    try:
        graph = doc["graph_module"]["graph"]
        nodes, tvs = graph["nodes"], graph["tensor_values"]
    except (KeyError, TypeError):
        return None
    if type(graph) is not dict or type(nodes) is not list or type(tvs) is not dict:
        return None
    if _SHAPES is None:
        _SHAPES = _Shapes(schema)
    shapes = _SHAPES
    node_conv = lambda d: to_dataclass(schema.Node, d)  # noqa: E731
    meta_conv = lambda d: to_dataclass(schema.TensorMeta, d)  # noqa: E731
    graph["nodes"], graph["tensor_values"] = [], {}
    # converted here, in document order, so conversion errors surface before deserializing
    out_nodes = [RawNode(n, node_conv) if shapes.node_ok(n) else node_conv(n) for n in nodes]
    out_tvs = {k: v if shapes.meta_ok(v) else meta_conv(v) for k, v in tvs.items()}

    def put_back(serialized):
        g = serialized.graph_module.graph
        g.nodes = out_nodes
        g.tensor_values = out_tvs
    return put_back


def install(gd, S, to_dataclass, schema):
    """Give GraphModuleDeserializer `gd` the instance methods that read raw nodes and arguments
    (everything else goes to the class's own methods)."""
    import torch
    OpOverload = torch._ops.OpOverload
    HOP = torch._ops.HigherOrderOperator
    aten = torch.ops.aten
    special = set(S._SYM_OPS) | {aten.item.default, aten._assert_scalar.default,
                                 aten.sym_constrain_range_for_size.default}
    cls = type(gd)
    upstream_node = cls.deserialize_node.__get__(gd)
    upstream_input = cls.deserialize_input.__get__(gd)
    deserialize_inputs = cls.deserialize_inputs.__get__(gd)
    sync = cls.sync_fx_node.__get__(gd)
    metadata = cls.deserialize_metadata.__get__(gd)
    dtypes = S._SERIALIZE_TO_TORCH_DTYPE
    formats = S._SERIALIZE_TO_TORCH_MEMORY_FORMAT
    layouts = S._SERIALIZE_TO_TORCH_LAYOUT
    device = S.deserialize_device
    device_conv = lambda d: to_dataclass(schema.Device, d)  # noqa: E731

    def raw_input(a):
        # deserialize_input's branches for the kinds of _ARG_SHAPES, in its terms
        for k, v in a.items():
            if k == "as_tensor":
                return gd.serialized_name_to_node[v["name"]]
            if k == "as_none":
                return None
            if k in ("as_int", "as_bool", "as_string"):
                return v
            if k == "as_float":
                return float(v)
            if k == "as_scalar_type":
                return dtypes[v]
            if k == "as_memory_format":
                return formats[v]
            if k == "as_layout":
                return layouts[v]
            if k == "as_device":
                return device(device_conv(v))
            if not v:
                return []
            if k == "as_tensors":
                return [gd.serialized_name_to_node[x["name"]] for x in v]
            if k == "as_floats":
                return [float(x) for x in v]
            return list(v)  # as_ints, as_bools, as_strings

    def deserialize_input(inp):
        if type(inp) is dict:
            return raw_input(inp)
        return upstream_input(inp)

    def deserialize_node(sn, target):
        if type(sn) is not RawNode:
            return upstream_node(sn, target)
        if not isinstance(target, OpOverload) or isinstance(target, HOP) or target in special:
            return upstream_node(sn.dataclass(), target)
        raw = sn.raw
        args, kwargs = deserialize_inputs(target, _Inputs([_NamedArg(i) for i in raw["inputs"]]))
        fx_node = gd.graph.create_node("call_function", target, args, kwargs, raw["name"])
        sync(raw["outputs"][0]["as_tensor"]["name"], fx_node)
        fx_node.meta.update(metadata(raw["metadata"]))
        if "nn_module_stack" not in fx_node.meta:
            fx_node.meta["nn_module_stack"] = {}

    gd.deserialize_node = deserialize_node
    gd.deserialize_input = deserialize_input
