"""pt2c.save / pt2c.load with real PyTorch (>= 2.9; the accelerator machine has 2.11) and the
torchcheck stand-ins of the TensorRT runtime: compiled-style modules made by torchcheck's
partition.py (static, dynamic batch, several outputs, tied weights and a non-persistent buffer,
CUDA weights, both engine-module kinds, both wrappers, cross-compile) are saved with pt2c.save,
loaded with torch.export.load and pt2c.load, run, and compared with the eager model's outputs;
pt2c.save's bytes must equal `pt2c export` of the same module's partitioned archive.

    PT2C_TORCHCHECK=DIR python3 tests/python/test_torch.py     # DIR: ../shared/tools/torchcheck
Without torch every test is skipped (and says so).
"""
import os
import shutil
import sys
import tempfile
import unittest
import warnings

try:
    import torch
    import torch.nn as nn
except ImportError:  # CI here: no torch
    torch = None

import pt2c

SHARED = os.environ.get("PT2C_SHARED", os.path.join(os.path.dirname(__file__), "..", "..", "..", "shared"))
TC = os.environ.get("PT2C_TORCHCHECK") or os.path.join(SHARED, "tools", "torchcheck")
CUDA = torch is not None and torch.cuda.is_available()
_runtime = {}


def runtime():
    """check_pt2's stand-ins (engine class, execute_engine, and the ABI-6 cross-compile op)."""
    if not _runtime:
        sys.path.insert(0, os.path.abspath(TC))
        import check_pt2
        import partition
        check_pt2.register_runtime(9)
        _runtime.update(check_pt2=check_pt2, partition=partition)
    return _runtime["partition"]


if torch is not None:
    class Hybrid(nn.Module):
        def __init__(self):
            super().__init__()
            self.conv = nn.Conv2d(3, 8, 3, padding=1)
            self.gate = nn.Parameter(torch.rand(8, 1, 1))
            self.lin = nn.Linear(8, 4)

        def forward(self, x):
            y = torch.tanh(self.conv(x) * self.gate)
            return self.lin(y.mean(dim=(2, 3))), y

    class TwoOut(nn.Module):
        """One engine segment with two outputs, both used by a fallback segment."""

        def __init__(self):
            super().__init__()
            self.a = nn.Linear(6, 6)
            self.w = nn.Parameter(torch.rand(6))

        def forward(self, x):
            h = self.a(x)
            p, q = torch.relu(h), torch.sigmoid(h)
            return torch.tanh(p * self.w) + q, p

    class Tied(nn.Module):
        """Tied linear weights in two fallback segments and a non-persistent buffer."""

        def __init__(self):
            super().__init__()
            self.a = nn.Linear(8, 8)
            self.b = nn.Linear(8, 8)
            self.b.weight = self.a.weight
            self.register_buffer("scale", torch.full((8,), 0.5), persistent=False)

        def forward(self, x):
            z = torch.relu(self.a(x))
            return torch.relu(self.b(z) * self.scale)

    def acc_no_tanh_mul(n):
        return not (n.op == "call_function" and any(k in str(n.target) for k in ("tanh", "mul")))

    def acc_no_linear(n):
        return not (n.op == "call_function" and any(k in str(n.target) for k in ("linear", "mul", "tanh")))

    class PythonTorchTensorRTModule(nn.Module):
        """Stand-in of Torch-TensorRT 2.5-2.12's Python-runtime engine module: the attributes
        that release's class has (serialized_engine, input_names, output_names, name, settings,
        target_device_id, target_device_properties, target_platform), no _pack_engine_info."""

        def __init__(self, cpp):
            super().__init__()
            self.name = cpp.name
            self.serialized_engine = cpp.serialized_engine
            self.input_names = list(cpp.input_binding_names)
            self.output_names = list(cpp.output_binding_names)
            self.settings = None
            self.weight_name_map = None
            self.target_device_id = 0
            self.target_device_properties = torch.cuda.get_device_properties(0) if CUDA else None
            self.target_platform = "linux_x86_64"
            self._engine = cpp.engine

        def forward(self, *inputs):
            outs = torch.ops.tensorrt.execute_engine(list(inputs), self._engine)
            return outs[0] if len(outs) == 1 else tuple(outs)

    class CudaGraphsTorchTensorRTModule(nn.Module):
        def __init__(self, compiled_module):
            super().__init__()
            self.compiled_module = compiled_module

        def forward(self, *a):
            return self.compiled_module(*a)

    class MutableTorchTensorRTModule:
        """The wrapper's shape: gm in the instance dict, attribute access forwarded elsewhere."""

        def __init__(self, gm, original):
            self.__dict__.update(gm=gm, refit_state=None, original_model=original)

        def __getattr__(self, k):
            return getattr(self.__dict__["original_model"], k)


def flat(x):
    return torch.utils._pytree.tree_flatten(x)[0]


@unittest.skipIf(torch is None, "torch is not installed (the torch suite runs on the accelerator machine)")
class Save(unittest.TestCase):
    def setUp(self):
        warnings.simplefilter("ignore", DeprecationWarning)  # torch.jit.* in the stand-ins
        self.tmp = tempfile.mkdtemp(prefix="pt2c-torch-")
        self.part = runtime()

    def tearDown(self):
        shutil.rmtree(self.tmp)

    def make(self, model, args, is_acc=None, dyn=None, abi=6):
        torch.manual_seed(7)
        model = model.eval()
        gm = self.part.make_partitioned(model, args, is_acc or acc_no_tanh_mul, dynamic_shapes=dyn, abi=abi)
        with torch.no_grad():
            expect = flat(model(*args))
        return gm, expect

    def check(self, gm, args, expect, name, cross=False, target=None, run_args=None, run_expect=None):
        """save -> bytes equal to the archive door -> torch.export.load and pt2c.load -> run."""
        path = os.path.join(self.tmp, name + ".pt2")
        pt2c.save(gm, path, cross_compile=cross, target=target)
        arch = os.path.join(self.tmp, name + ".pt2c-partitioned")
        pt2c.write_partitioned(gm, arch, target=target)
        other = os.path.join(self.tmp, "door2")
        os.makedirs(other, exist_ok=True)
        pt2c.export(arch, os.path.join(other, name + ".pt2"), cross_compile=cross, target=target)
        with open(path, "rb") as f, open(os.path.join(other, name + ".pt2"), "rb") as g:
            self.assertEqual(f.read(), g.read(), f"{name}: pt2c.save differs from pt2c export of its archive")
        pt2c.verify(path)
        loaders = [("pt2c.load", pt2c.load)]
        if not cross:
            loaders.append(("torch.export.load", torch.export.load))
        for what, load in loaders:
            ep = load(path)
            with torch.no_grad():
                got = flat(ep.module()(*(run_args or args)))
            want = run_expect or expect
            self.assertEqual(len(got), len(want), f"{name} via {what}")
            for g, e in zip(got, want):
                torch.testing.assert_close(g.cpu(), e.cpu(), rtol=1e-4, atol=1e-5, msg=f"{name} via {what}")
        return path

    def test_static(self):
        args = (torch.randn(2, 3, 8, 8),)
        gm, expect = self.make(Hybrid(), args)
        self.check(gm, args, expect, "static")

    def test_large_fallbacks(self):
        """Two fallback segments of over 4096 nodes each: pt2c reads them on worker threads (on two
        CPUs or more) inside pt2c.save; the file must still equal the archive door's, load in
        PyTorch and compute what the eager model does."""
        class Deep(nn.Module):
            def __init__(self):
                super().__init__()
                self.lin = nn.Linear(16, 16)

            def forward(self, x):
                for _ in range(2100):  # two nodes a step: mul, add
                    x = x * 0.999 + 0.001
                x = self.lin(x)
                for _ in range(2100):
                    x = x * 0.999 + 0.001
                return x

        args = (torch.randn(4, 16),)
        gm, expect = self.make(Deep(), args, is_acc=lambda n: n.op == "call_function" and "linear" in str(n.target))
        sizes = [len(m.graph.nodes) for k, m in gm.named_children() if k.startswith("_run_on_gpu_")]
        self.assertEqual(len(sizes), 2)
        self.assertTrue(all(n > 4096 for n in sizes), sizes)
        self.check(gm, args, expect, "deep")

    def test_targets_and_extra_files(self):
        """Every generation PyTorch 2.11 can load (TorchBind engines: 2.5 .. 2.12), with extra files
        that torch.export.load hands back."""
        args = (torch.randn(2, 3, 8, 8),)
        gm, expect = self.make(Hybrid(), args)
        for t in ("2.5", "2.7", "2.10", "2.11", "2.12"):
            p = self.check(gm, args, expect, "t" + t.replace(".", "_"), target=t)
            self.assertEqual({e["abi"] for e in pt2c.engines(p)}, {pt2c._describe.RELEASE_ABI[t]})
        p = os.path.join(self.tmp, "extra.pt2")
        pt2c.save(gm, p, extra_files={"meta": "compiled by pt2c \u2713"}, target="2.12")
        got = {"meta": ""}
        torch.export.load(p, extra_files=got)
        self.assertEqual(got, {"meta": "compiled by pt2c \u2713"})
        got = {"meta": ""}
        pt2c.load(p, extra_files=got)
        self.assertEqual(got["meta"], "compiled by pt2c \u2713")
        with self.assertRaises(pt2c.Error):  # a release pt2c has no generation for
            pt2c.save(gm, os.path.join(self.tmp, "old.pt2"), target="2.4")

    def test_cross_compile(self):
        args = (torch.randn(2, 3, 8, 8),)
        gm, expect = self.make(Hybrid(), args)
        p = self.check(gm, args, expect, "cross", cross=True)
        self.assertTrue(all(e["owner"].startswith("no_op") or "no_op" in e["owner"] or e["abi"] == 6
                            for e in pt2c.engines(p)))

    def test_dynamic_batch(self):
        from torch.export import Dim
        args = (torch.randn(3, 3, 8, 8),)
        model = Hybrid()
        gm, expect = self.make(model, args, dyn={"x": {0: Dim("batch", min=1, max=32)}})
        other = (torch.randn(5, 3, 8, 8),)
        with torch.no_grad():
            other_expect = flat(model.eval()(*other))
        p = self.check(gm, args, expect, "dynamic", run_args=other, run_expect=other_expect)
        rc = pt2c.inspect(p)["range_constraints"]
        self.assertIn([1, 32], list(rc.values()))

    def test_views_of_a_larger_storage(self):
        """Fallback weights living in the middle of larger storages (storage_offset != 0)."""
        args = (torch.randn(2, 3, 8, 8),)
        gm, expect = self.make(Hybrid(), args)
        moved = 0
        for _, m in gm.named_children():
            if isinstance(m, torch.fx.GraphModule):
                for _, prm in m.named_parameters():
                    big = torch.zeros(prm.numel() + 24, dtype=prm.dtype)
                    big[16:16 + prm.numel()] = prm.detach().flatten()
                    prm.data = big[16:16 + prm.numel()].view(prm.shape)
                    moved += 1
        self.assertGreater(moved, 0)
        self.check(gm, args, expect, "views")

    def test_several_outputs(self):
        args = (torch.randn(4, 6),)
        gm, expect = self.make(TwoOut(), args, is_acc=lambda n: not (n.op == "call_function" and any(
            k in str(n.target) for k in ("tanh", "mul", "add"))))
        self.check(gm, args, expect, "two_out")

    def test_tied_weights_and_nonpersistent_buffer(self):
        args = (torch.randn(3, 8),)
        gm, expect = self.make(Tied(), args, is_acc=acc_no_linear)
        p = self.check(gm, args, expect, "tied")
        params = [i for i in pt2c.inspect(p)["inputs"] if i["kind"] == "PARAMETER"]
        self.assertTrue(params)

    @unittest.skipUnless(CUDA, "no CUDA device")
    def test_cuda_weights(self):
        args = (torch.randn(2, 3, 8, 8, device="cuda"),)
        gm, expect = self.make(Hybrid().cuda(), args)
        self.assertTrue(any(p.is_cuda for p in gm.parameters()))
        p = self.check(gm, args, expect, "cuda")
        self.assertTrue(any(i.get("device") == "cuda:0" for i in pt2c.inspect(p)["inputs"]))

    @unittest.skipUnless(CUDA, "no CUDA device")
    def test_pull_failure_leaves_no_file(self):
        args = (torch.randn(2, 3, 8, 8, device="cuda"),)
        gm, _ = self.make(Hybrid().cuda(), args)
        real = pt2c._Sources._pull
        calls = []

        def failing(self_, ctx, off, buf, n):
            calls.append(off)
            if len(calls) == 1:  # the first piece of the first CUDA storage
                self_.errors.append(RuntimeError("device lost (test)"))
                return 1
            return real(self_, ctx, off, buf, n)
        pt2c._Sources._pull = failing
        path = os.path.join(self.tmp, "fail.pt2")
        try:
            with self.assertRaises(pt2c.Error) as cm:
                pt2c.save(gm, path)
        finally:
            pt2c._Sources._pull = real
        self.assertEqual(cm.exception.code_name, "I/O error")
        self.assertIsInstance(cm.exception.__cause__, RuntimeError)
        self.assertFalse(os.path.exists(path))
        self.assertEqual([x for x in os.listdir(self.tmp) if ".tmp." in x], [])

    @unittest.skipUnless(CUDA, "no CUDA device (the Python-runtime record needs device properties)")
    def test_python_runtime_modules(self):
        args = (torch.randn(2, 3, 8, 8),)
        gm, expect = self.make(Hybrid(), args)
        for name, m in list(gm.named_children()):
            if name.startswith("_run_on_acc"):
                setattr(gm, name, PythonTorchTensorRTModule(m))
        with self.assertRaises(pt2c.SaveError) as cm:  # which release? must be said
            pt2c.save(gm, os.path.join(self.tmp, "py.pt2"))
        self.assertIn("_run_on_acc_0", str(cm.exception))
        self.assertFalse(os.path.exists(os.path.join(self.tmp, "py.pt2")))
        p = self.check(gm, args, expect, "python_runtime", target="2.5")
        self.assertEqual({e["abi"] for e in pt2c.engines(p)}, {6})

    def test_wrappers(self):
        args = (torch.randn(2, 3, 8, 8),)
        gm, expect = self.make(Hybrid(), args)
        self.check(CudaGraphsTorchTensorRTModule(gm), args, expect, "cudagraphs")
        self.check(MutableTorchTensorRTModule(gm, Hybrid()), args, expect, "mutable")
        with self.assertRaises(pt2c.SaveError) as cm:
            pt2c.save(MutableTorchTensorRTModule(None, Hybrid()), os.path.join(self.tmp, "m.pt2"))
        self.assertIn("not been compiled", str(cm.exception))

    def test_unsupported_submodule_named(self):
        args = (torch.randn(2, 3, 8, 8),)
        gm, _ = self.make(Hybrid(), args)
        gm._run_on_acc_0 = nn.Identity()
        path = os.path.join(self.tmp, "bad.pt2")
        with self.assertRaises(pt2c.SaveError) as cm:
            pt2c.save(gm, path)
        self.assertIn("_run_on_acc_0", str(cm.exception))
        self.assertFalse(os.path.exists(path))

    def test_exported_program_round_trip(self):
        """An ExportedProgram (what torch.export.load returns) saved again by pt2c.save."""
        from torch.export import Dim
        args = (torch.randn(3, 3, 8, 8),)
        gm, expect = self.make(Hybrid(), args, dyn={"x": {0: Dim("batch", min=1, max=32)}})
        first = os.path.join(self.tmp, "first.pt2")
        pt2c.save(gm, first)
        for load in (torch.export.load, pt2c.load):
            ep = load(first)
            again = os.path.join(self.tmp, "again.pt2")
            pt2c.save(ep, again)
            pt2c.verify(again)
            self.assertEqual(pt2c.inspect(again)["range_constraints"], pt2c.inspect(first)["range_constraints"])
            with torch.no_grad():
                got = flat(pt2c.load(again).module()(*args))
            for g, e in zip(got, expect):
                torch.testing.assert_close(g, e, rtol=1e-4, atol=1e-5)
        ep = torch.export.export(Hybrid().eval(), args)  # a program without engines
        plain = os.path.join(self.tmp, "plain.pt2")
        pt2c.save(ep, plain)
        with torch.no_grad():
            want = flat(ep.module()(*args))
            got = flat(torch.export.load(plain).module()(*args))
        for g, e in zip(got, want):
            torch.testing.assert_close(g, e)

    def rewrite_model_json(self, src, dst, edit):
        """dst: src with models/model.json's dict passed through edit (members stored, in order)."""
        import json
        import zipfile
        with zipfile.ZipFile(src) as zin, zipfile.ZipFile(dst, "w", zipfile.ZIP_STORED) as zout:
            for info in zin.infolist():
                data = zin.read(info)
                if info.filename.endswith("/models/model.json"):
                    doc = json.loads(data)
                    edit(doc)
                    data = json.dumps(doc).encode()
                zout.writestr(info.filename, data)

    def test_load_raw_nodes_as_torch_does(self):
        """pt2c.load reads the top graph's plain nodes from model.json's dicts (pt2c/_rawgraph.py)
        and the others through the schema dataclasses: a file with both kinds, and nodes the
        shape check must send to PyTorch's own code, loads equal to torch.export.load's."""
        import json
        import zipfile
        sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
        from load_equal import ep_diff
        from torch._export.serde import schema
        from pt2c import _load, _rawgraph
        args = (torch.randn(2, 3, 8, 8),)
        gm, _ = self.make(Hybrid(), args)
        first = os.path.join(self.tmp, "first.pt2")
        pt2c.save(gm, first)
        with zipfile.ZipFile(first) as z:
            doc = json.loads(z.read(next(n for n in z.namelist() if n.endswith("/models/model.json"))))
        n_nodes = len(doc["graph_module"]["graph"]["nodes"])

        def odd(doc):
            nodes = [n for n in doc["graph_module"]["graph"]["nodes"]
                     if n["target"].startswith("torch.ops.aten.") and n["inputs"]]
            self.assertGreaterEqual(len(nodes), 2)
            nodes[0]["from_a_later_schema"] = 1       # unknown key: ignored by PyTorch, dataclass path here
            nodes[1]["inputs"][0].pop("kind", None)    # no kind: deserialize_inputs' schema rules
        odd_path = os.path.join(self.tmp, "odd.pt2")
        self.rewrite_model_json(first, odd_path, odd)
        raws = []
        for f in (first, odd_path):
            with zipfile.ZipFile(f) as z:
                d = json.loads(z.read(next(n for n in z.namelist() if n.endswith("/models/model.json"))))
            put = _rawgraph.take_top_graph(d, schema, _load.to_dataclass)
            self.assertIsNotNone(put)

            class _G:
                pass
            s = _G()
            s.graph_module = _G()
            s.graph_module.graph = _G()
            put(s)
            raw = sum(type(n) is _rawgraph.RawNode for n in s.graph_module.graph.nodes)
            self.assertGreater(raw, 0, f)         # the fallback's aten nodes are read raw
            self.assertLess(raw, n_nodes, f)      # the engine nodes (several outputs) are not
            raws.append(raw)
            self.assertEqual(ep_diff(torch.export.load(f), _load.load(f)), [], f)

        self.assertEqual(raws[1], raws[0] - 1)  # the node with a key of a later schema went the dataclass way
        # a raw node's repr (the deserializer's error message names the node by it) is that of
        # PyTorch's own dataclass of the same dict
        from torch._export.serde.serialize import _dict_to_dataclass
        with zipfile.ZipFile(first) as z:
            d = json.loads(z.read(next(n for n in z.namelist() if n.endswith("/models/model.json"))))
        for n in d["graph_module"]["graph"]["nodes"]:
            self.assertEqual(repr(_rawgraph.RawNode(n, lambda x: _load.to_dataclass(schema.Node, x))),
                             repr(_dict_to_dataclass(schema.Node, n)))

    def test_progress(self):
        args = (torch.randn(2, 3, 8, 8),)
        gm, _ = self.make(Hybrid(), args)
        seen = []
        pt2c.save(gm, os.path.join(self.tmp, "p.pt2"), progress=lambda d, t: seen.append((d, t)))
        self.assertTrue(seen and seen[-1][0] == seen[-1][1] > 0)


if __name__ == "__main__":
    unittest.main(verbosity=2)
