"""pt2c.load's fast-path gates, without torch.

pt2c/_rawgraph.py's shape checks decide which nodes and tensor metadata of model.json pt2c.load
reads from the JSON dicts (and so must admit only what PyTorch's schema conversion accepts
without error), and they are written flat for speed. Here they are held to a plain statement of
the same rules (`Reference`) on every node and tensor_values entry of every fixture's model.json
and on systematic mutations of them (each key dropped, an unknown key added, each value replaced
by values of other types). And the PyTorch versions the path is used on (_load.fast_torch_version).

The schema classes are stand-ins with the field names and defaults of PyTorch 2.11's
torch/_export/serde/schema.py (the checks read nothing else of them).

    PT2C_SHARED=../shared python3 tests/python/test_rawgraph.py
"""
import copy
import dataclasses
import glob
import json
import os
import sys
import unittest
import zipfile
from typing import Optional

try:
    from pt2c import _rawgraph
except ImportError:  # run from the source tree
    sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "..", "python"))
    from pt2c import _rawgraph

SHARED = os.environ.get("PT2C_SHARED", os.path.join(os.path.dirname(__file__), "..", "..", "..", "shared"))


class FakeSchema:
    """Field names and which have defaults: PyTorch 2.11's schema.py."""

    @dataclasses.dataclass
    class Node:
        target: str
        inputs: list
        outputs: list
        metadata: dict
        is_hop_single_tensor_return: Optional[bool] = None
        name: Optional[str] = None

    @dataclasses.dataclass
    class NamedArgument:
        name: str
        arg: object
        kind: Optional[int] = None

    @dataclasses.dataclass
    class TensorArgument:
        name: str

    @dataclasses.dataclass
    class Device:
        type: str
        index: Optional[int] = None

    @dataclasses.dataclass
    class TensorMeta:
        dtype: int
        sizes: list
        requires_grad: bool
        device: object
        strides: list
        storage_offset: object
        layout: int

    Argument = dataclasses.make_dataclass("Argument", [
        "as_none", "as_tensor", "as_tensors", "as_int", "as_ints", "as_float", "as_floats", "as_string",
        "as_strings", "as_sym_int", "as_sym_ints", "as_scalar_type", "as_memory_format", "as_layout",
        "as_device", "as_bool", "as_bools", "as_sym_bool", "as_sym_bools", "as_graph", "as_optional_tensors",
        "as_custom_obj", "as_operator", "as_sym_float", "as_sym_floats", "as_optional_tensor", "as_complex",
        "as_nested_tensors", "as_int_lists", "as_string_to_argument"])


NONE = type(None)


class Reference:
    """The rules, stated plainly."""

    def fields(self, cls):
        return {f.name for f in dataclasses.fields(cls)}

    def required(self, cls):
        return {f.name for f in dataclasses.fields(cls) if f.default is dataclasses.MISSING}

    def exact(self, d, cls):
        return isinstance(d, dict) and type(d) is dict and set(d) <= self.fields(cls) and self.required(cls) <= set(d)

    def tensor_arg(self, d):
        return self.exact(d, FakeSchema.TensorArgument) and type(d["name"]) is str

    def device(self, d):
        return self.exact(d, FakeSchema.Device) and type(d["type"]) is str and type(d.get("index")) in (int, NONE)

    def number(self, v):
        return type(v) is float or (type(v) is int and abs(v) < 2 ** 1024 - 2 ** 970)  # below: float(v) rounds

    def arg(self, a):
        if type(a) is not dict or len(a) != 1:
            return False
        (k, v), = a.items()
        rules = {
            "as_none": lambda: type(v) not in (list, dict),
            "as_tensor": lambda: self.tensor_arg(v),
            "as_tensors": lambda: type(v) is list and all(self.tensor_arg(x) for x in v),
            "as_int": lambda: type(v) is int,
            "as_ints": lambda: type(v) is list and all(type(x) is int for x in v),
            "as_float": lambda: self.number(v),
            "as_floats": lambda: type(v) is list and all(self.number(x) for x in v),
            "as_bool": lambda: type(v) is bool,
            "as_bools": lambda: type(v) is list and all(type(x) is bool for x in v),
            "as_string": lambda: type(v) is str,
            "as_strings": lambda: type(v) is list and all(type(x) is str for x in v),
            "as_scalar_type": lambda: type(v) is int,
            "as_memory_format": lambda: type(v) is int,
            "as_layout": lambda: type(v) is int,
            "as_device": lambda: self.device(v),
        }
        return k in rules and rules[k]()

    def node(self, n):
        if not self.exact(n, FakeSchema.Node):
            return False
        if type(n["target"]) is not str or "torch.ops.higher_order" in n["target"]:
            return False
        if type(n.get("name")) is not str or n["name"] == "":
            return False
        if type(n.get("is_hop_single_tensor_return")) not in (bool, NONE):
            return False
        md = n["metadata"]
        if type(md) is not dict or not all(type(k) is str and type(v) is str for k, v in md.items()):
            return False
        outs = n["outputs"]
        if type(outs) is not list or len(outs) != 1 or type(outs[0]) is not dict or len(outs[0]) != 1:
            return False
        if "as_tensor" not in outs[0] or not self.tensor_arg(outs[0]["as_tensor"]):
            return False
        ins = n["inputs"]
        return type(ins) is list and all(
            self.exact(i, FakeSchema.NamedArgument) and type(i["name"]) is str
            and type(i.get("kind")) in (int, NONE) and self.arg(i["arg"]) for i in ins)

    def sym_int(self, s):
        return type(s) is dict and list(s) == ["as_int"] and type(s["as_int"]) is int

    def meta(self, m):
        return (self.exact(m, FakeSchema.TensorMeta) and type(m["dtype"]) is int and type(m["layout"]) is int
                and type(m["requires_grad"]) is bool and self.device(m["device"])
                and self.sym_int(m["storage_offset"])
                and type(m["sizes"]) is list and all(self.sym_int(s) for s in m["sizes"])
                and type(m["strides"]) is list and all(self.sym_int(s) for s in m["strides"]))


OTHERS = [None, True, 0, 7, -1, 1.5, "", "x", [], [1], [{"name": "a"}], {}, {"as_int": 1}, {"name": "a"}]


def replaced(d, k, v):
    """A copy of dict or list d with d[k] = v."""
    m = dict(d) if type(d) is dict else list(d)
    m[k] = v
    return m


def mutations(d, depth=0):
    """d changed in one place each: a key dropped, an unknown key (or item) added, a value of
    another type, recursively."""
    if type(d) not in (dict, list):
        return
    is_dict = type(d) is dict
    for k in (list(d) if is_dict else range(len(d))):
        if is_dict:
            m = dict(d)
            del m[k]
            yield m
        for other in (OTHERS if is_dict else OTHERS[:6]):
            yield replaced(d, k, other)
        if depth < 4:
            for sub in mutations(d[k], depth + 1):
                yield replaced(d, k, sub)
    yield dict(d, from_a_later_schema=1) if is_dict else d + [None]


def model_jsons():
    for f in sorted(glob.glob(os.path.join(SHARED, "fixtures", "**", "*.pt2"), recursive=True)):
        with zipfile.ZipFile(f) as z:
            for n in z.namelist():
                if n.endswith("/models/model.json"):
                    yield f, json.loads(z.read(n))


class Shapes(unittest.TestCase):
    def setUp(self):
        self.fast = _rawgraph._Shapes(FakeSchema)
        self.ref = Reference()

    def test_fixture_nodes_and_values(self):
        files = raw_nodes = raw_values = nodes = values = 0
        for f, doc in model_jsons():
            files += 1
            g = doc["graph_module"]["graph"]
            for n in g["nodes"]:
                nodes += 1
                want = self.ref.node(n)
                self.assertEqual(self.fast.node_ok(n), want, (f, n.get("name")))
                raw_nodes += want
            for k, m in g["tensor_values"].items():
                values += 1
                want = self.ref.meta(m)
                self.assertEqual(self.fast.meta_ok(m), want, (f, k))
                raw_values += want
        self.assertGreater(files, 10)
        # the fixtures have both kinds (engines, symbolic shapes, higher order ops)
        self.assertTrue(0 < raw_nodes < nodes, (raw_nodes, nodes))
        self.assertTrue(0 < raw_values < values, (raw_values, values))

    def test_mutations(self):
        seen = {True: 0, False: 0}
        for f, doc in model_jsons():
            g = doc["graph_module"]["graph"]
            for n in g["nodes"][:6]:
                for m in mutations(copy.deepcopy(n)):
                    want = self.ref.node(m)
                    seen[want] += 1
                    self.assertEqual(self.fast.node_ok(m), want, (f, m))
            for m0 in list(g["tensor_values"].values())[:3]:
                for m in mutations(copy.deepcopy(m0)):
                    want = self.ref.meta(m)
                    seen[want] += 1
                    self.assertEqual(self.fast.meta_ok(m), want, (f, m))
        self.assertGreater(seen[False], 1000)
        self.assertGreater(seen[True], 100)

    def test_rules_one_by_one(self):
        """Each rule on its own, from a node and a value both checks admit."""
        n = next(n for _, doc in model_jsons() for n in doc["graph_module"]["graph"]["nodes"] if self.ref.node(n))
        m = next(m for _, doc in model_jsons() for m in doc["graph_module"]["graph"]["tensor_values"].values()
                 if self.ref.meta(m))
        self.assertTrue(self.fast.node_ok(n) and self.fast.meta_ok(m))

        def node_with(**kw):
            x = copy.deepcopy(n)
            x.update(kw)
            return self.fast.node_ok(x)
        self.assertFalse(node_with(target="torch.ops.higher_order.cond"))  # upstream's HOP output rules
        self.assertFalse(node_with(name=""))                               # no name: upstream derives one
        self.assertFalse(node_with(name=None))
        self.assertFalse(node_with(outputs=[{"as_none": True}]))
        self.assertFalse(node_with(outputs=n["outputs"] * 2))
        self.assertFalse(node_with(metadata={"stack_trace": 1}))
        self.assertTrue(node_with(metadata={}))
        self.assertTrue(node_with(is_hop_single_tensor_return=None))
        arg = {"name": "x", "arg": None, "kind": 1}
        for a, ok in [({"as_tensor": {"name": "t"}}, True), ({"as_sym_int": {"as_name": "s"}}, False),
                      ({"as_float": "inf"}, False), ({"as_float": 2}, True), ({"as_float": 10 ** 400}, False),
                      ({"as_floats": [1.5, 10 ** 400]}, False), ({"as_float": 2 ** 1023}, True), ({"as_optional_tensors": []}, False),
                      ({"as_device": {"type": "cuda", "index": 0}}, True), ({"as_device": {"type": "cpu"}}, True),
                      ({"as_device": {"index": 0}}, False), ({"as_int": True}, False), ({"as_ints": [1, 2]}, True),
                      ({"as_ints": [1, 2.0]}, False), ({"as_graph": {}}, False), ({"as_none": True}, True),
                      ({"as_tensor": {"name": "t"}, "as_int": 1}, False)]:
            self.assertEqual(node_with(inputs=[dict(arg, arg=a)]), ok, a)
        self.assertFalse(node_with(inputs=[dict(arg, kind="1", arg={"as_int": 1})]))

        def meta_with(**kw):
            x = copy.deepcopy(m)
            x.update(kw)
            return self.fast.meta_ok(x)
        self.assertFalse(meta_with(sizes=[{"as_expr": {"expr_str": "s0"}}]))  # symbolic: upstream's method
        self.assertFalse(meta_with(storage_offset={"as_int": 1.0}))
        self.assertFalse(meta_with(requires_grad=0))
        self.assertTrue(meta_with(sizes=[], strides=[]))


class TorchVersions(unittest.TestCase):
    def test_fast_path_only_on_the_compared_release(self):
        from pt2c import _load
        for v, ok in [("2.11.0", True), ("2.11.0+cu130", True), ("2.11.2+cpu", True), ("2.11.0a0+git1234", False),
                      ("2.11.0.dev20260101", False), ("2.11.0rc1", False), ("2.12.0", False), ("2.10.1", False),
                      ("12.11.0", False), ("2.1.0", False)]:
            self.assertEqual(_load.fast_torch_version(v), ok, v)


if __name__ == "__main__":
    unittest.main(verbosity=2)
