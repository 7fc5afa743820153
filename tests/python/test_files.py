"""pt2c's Python package on files, no torch needed: every call against the CLI's own output on
the fixtures written by PyTorch 2.11 (../shared/fixtures), byte for byte where the CLI writes a
file, plus the errors a user sees (corrupt input, missing files, no partial output).

    PT2C_BIN=build/pt2c PT2C_SHARED=../shared python3 tests/python/test_files.py
(with the package installed, or PT2C_LIBRARY=build/libpt2c.so PYTHONPATH=python).
"""
import glob
import json
import os
import shutil
import subprocess
import sys
import tempfile
import unittest

import pt2c

SHARED = os.environ.get("PT2C_SHARED", os.path.join(os.path.dirname(__file__), "..", "..", "..", "shared"))
BIN = os.environ.get("PT2C_BIN", "pt2c")
FIX = os.path.join(SHARED, "fixtures", "torch-2.11")
PT2S = sorted(glob.glob(os.path.join(FIX, "*.pt2")))
PARTS = sorted(glob.glob(os.path.join(FIX, "*.partitioned.json")) +
               glob.glob(os.path.join(SHARED, "fixtures", "partitioned", "*.partitioned.json")))


def cli(*args):
    return subprocess.run([BIN, *args],
                          check=True, capture_output=True).stdout


class Files(unittest.TestCase):
    def setUp(self):
        self.tmp = tempfile.mkdtemp(prefix="pt2c-py-")

    def tearDown(self):
        shutil.rmtree(self.tmp)

    def out(self, name):
        return os.path.join(self.tmp, name)

    def same_file(self, a, b):
        with open(a, "rb") as f, open(b, "rb") as g:
            self.assertEqual(f.read(), g.read(), f"{a} != {b}")

    def test_fixtures_present(self):
        self.assertGreaterEqual(len(PT2S), 10)
        self.assertGreaterEqual(len(PARTS), 6)

    def test_inspect_is_cli_json(self):
        for f in PT2S:
            self.assertEqual(pt2c.inspect(f), json.loads(cli("inspect", "--json", f)), f)

    def test_inspect_fields(self):
        d = pt2c.inspect(os.path.join(FIX, "dyn_batch.pt2"))
        x = [i for i in d["inputs"] if i["kind"] == "USER_INPUT"][0]
        self.assertEqual(x["dtype"], "float32")
        self.assertEqual(x["shape"], ["s77", 12])
        self.assertEqual(d["range_constraints"], {"s77": [2, 1024]})
        e = pt2c.inspect(os.path.join(FIX, "full_engine_folded.normal.pt2"))["engines"][0]
        self.assertEqual(e["device_info"], {"gpu_id": 0, "compute_capability": "9.0", "device_type": "DLA",
                                            "name": "NVIDIA H100 80GB HBM3"})

    def test_export_is_cli_export(self):
        for f in PARTS:
            for cross in (False, True):
                a, b = self.out("a.pt2"), self.out("b") + "/a.pt2"
                os.makedirs(os.path.dirname(b), exist_ok=True)
                pt2c.export(f, a, cross_compile=cross)
                cli("export", f, "-o", b, *(["--cross-compile"] if cross else []))
                self.same_file(a, b)
                pt2c.verify(a)

    def test_convert_and_resolve_are_cli(self):
        for f in PT2S:
            a, b = self.out("c.pt2"), self.out("d") + "/c.pt2"
            os.makedirs(os.path.dirname(b), exist_ok=True)
            pt2c.convert(f, a)
            cli("convert", f, "-o", b)
            self.same_file(a, b)
        for f in glob.glob(os.path.join(FIX, "*.cross.pt2")):
            a, b = self.out("r.pt2"), self.out("e") + "/r.pt2"
            os.makedirs(os.path.dirname(b), exist_ok=True)
            pt2c.resolve_cross(f, a)
            cli("resolve-cross", f, "-o", b)
            self.same_file(a, b)
            self.assertTrue(all(n["abi"] for n in pt2c.engines(a)))

    def test_targets_and_extra_files_are_cli(self):
        f = os.path.join(FIX, "hybrid_gated_fallback.partitioned.json")
        note = self.out("note.txt")
        with open(note, "w") as g:
            g.write("hello \u00e9")
        for t in ("2.7", "2.11", "2.12", "2.13", "head"):
            a, b = self.out("t.pt2"), self.out("t") + "/t.pt2"
            os.makedirs(os.path.dirname(b), exist_ok=True)
            pt2c.export(f, a, target=t, extra_files={"note": "hello \u00e9"})
            cli("export", f, "-o", b, "--target", t, "--extra-file", "note=" + note)
            self.same_file(a, b)
            self.assertEqual(pt2c.extra_files(a), {"note": "hello \u00e9".encode()})
            c, d = self.out("c.pt2"), self.out("t") + "/c.pt2"
            pt2c.convert(os.path.join(FIX, "full_engine_folded.normal.pt2"), c, target=t)
            cli("convert", os.path.join(FIX, "full_engine_folded.normal.pt2"), "-o", d, "--target", t)
            self.same_file(c, d)
        with self.assertRaises(pt2c.Error) as cm:
            pt2c.export(f, self.out("x.pt2"), target="2.99")
        self.assertEqual(cm.exception.code_name, "invalid argument")
        with self.assertRaises(pt2c.Error):
            pt2c.export(f, self.out("x.pt2"), extra_files={"a/b": "x"})
        self.assertFalse(os.path.exists(self.out("x.pt2")))

    def test_partitioned_archive_writer(self):
        """pt2c's Python archive writer (what write_partitioned uses) on each fixture's JSON form,
        turned into the archive form by hand: exporting the archive gives the JSON's bytes."""
        import base64
        from pt2c import _archive
        for f in PARTS:
            with open(f) as g:
                doc = json.load(g)
            weights, engines = [], []

            def member(w):
                raw = base64.b64decode(w.pop("data_b64"))
                name = f"weights/{len(weights)}"
                weights.append((name, len(raw), lambda raw=raw: [raw[:3], raw[3:]]))
                w["data_member"] = name

            for scope in [doc] + [m for m in doc["submodules"].values() if m["kind"] == "graph"]:
                for key in ("parameters", "buffers", "constants"):
                    for w in scope.get(key, {}).values():
                        member(w)
            for sub, m in doc["submodules"].items():
                if m["kind"] == "engine":
                    rec = m["engine_record"]
                    engines.append(("engines/" + sub, base64.b64decode(rec[3])))
                    rec[3] = {"member": "engines/" + sub}
            arch = self.out("m.pt2c-partitioned")
            _archive.write_archive(arch, json.dumps(doc).encode(), weights, engines)
            a, b = self.out("a.pt2"), self.out("b") + "/a.pt2"
            os.makedirs(os.path.dirname(b), exist_ok=True)
            pt2c.export(arch, a)
            pt2c.export(f, b)
            self.same_file(a, b)
        with self.assertRaises(ValueError):  # a source that gives fewer bytes than declared
            _archive.write_archive(self.out("short"), b"{}", [("weights/0", 5, lambda: [b"abc"])], [])
        self.assertFalse(os.path.exists(self.out("short")))
        self.assertEqual([x for x in os.listdir(self.tmp) if x.endswith(".tmp")], [])

    def test_engines(self):
        f = os.path.join(FIX, "full_engine_two_outputs.normal.pt2")
        es = pt2c.engines(f)
        self.assertEqual(len(es), 1)
        raw = pt2c.engine_bytes(f, 0)
        self.assertEqual(len(raw), es[0]["engine_bytes"])
        self.assertTrue(raw.startswith(b"PK"))  # the fixtures' engines are TorchScript archives
        d = os.path.join(self.tmp, "eng")
        cli("engines", f, "-d", d)
        files = sorted(os.listdir(d))
        with open(os.path.join(d, [x for x in files if not x.endswith(".json")][0]), "rb") as g:
            self.assertEqual(g.read(), raw)
        self.assertEqual(es[0]["record"]["output_binding_names"], "output_0%output_1")

    def test_fast_loader_archive_map(self):
        """pt2c.load's archive view (no torch needed): every member's bytes at the offset the C
        library lists are the bytes Python's zipfile reads, under PyTorchFileReader's names."""
        import zipfile
        from pt2c import _load
        for f in PT2S:
            a = _load._Archive(f)
            with zipfile.ZipFile(f) as z:
                infos = z.infolist()
                top = infos[0].filename.split("/", 1)[0] + "/"
                self.assertEqual(sorted(a.names()), sorted(i.filename[len(top):] for i in infos), f)
                for i in infos:
                    self.assertEqual(a.read_bytes(i.filename[len(top):]), z.read(i), (f, i.filename))
            self.assertEqual(a.read_string("archive_format"), "pt2", f)
        with tempfile.TemporaryDirectory() as d:
            bad = os.path.join(d, "bad.pt2")
            with open(bad, "wb") as out:
                out.write(b"PK\x03\x04 not an archive")
            with self.assertRaises(pt2c.Error):
                _load._Archive(bad)

    def test_program_text_is_cli(self):
        for f in PT2S:
            self.assertEqual(pt2c.program_text(f), cli("inspect", "--graph", f).decode(), f)

    def test_errors(self):
        with self.assertRaises(pt2c.Error) as cm:
            pt2c.inspect(os.path.join(self.tmp, "missing.pt2"))
        self.assertEqual(cm.exception.code_name, "not found")
        bad = self.out("bad.pt2")
        with open(os.path.join(FIX, "mlp_bn.pt2"), "rb") as f:
            data = bytearray(f.read())
        data[len(data) // 2] ^= 0xFF  # inside a member: the CRC check finds it
        with open(bad, "wb") as f:
            f.write(data)
        with self.assertRaises(pt2c.Error) as cm:
            pt2c.verify(bad)
        self.assertEqual(cm.exception.code_name, "corrupt input")
        self.assertIn("mlp_bn/", cm.exception.member)
        self.assertIn(bad, str(cm.exception))
        target = self.out("never.pt2")
        with self.assertRaises(pt2c.Error):
            pt2c.convert(bad, target)
        self.assertFalse(os.path.exists(target))
        self.assertEqual([x for x in os.listdir(self.tmp) if ".tmp." in x], [])
        with self.assertRaises(pt2c.Error) as cm:
            pt2c.export(os.path.join(FIX, "mlp_bn.txt"), target)
        self.assertFalse(os.path.exists(target))

    def test_threads_reach_the_write_options(self):
        """threads= is passed as pt2c_write_options version 2; the bytes are the CLI's at any count."""
        from pt2c import _lib
        seen = []
        real = _lib.lib.pt2c_program_write

        def spy(prog, path, opts, err):
            o = opts._obj if hasattr(opts, "_obj") else opts.contents
            seen.append((o.version, o.threads))
            return real(prog, path, opts, err)

        _lib.lib.pt2c_program_write = spy
        try:
            part = os.path.join(FIX, "hybrid_gated_fallback.partitioned.json")
            cross = os.path.join(FIX, "hybrid_gated_fallback.cross.pt2")
            for n in (0, 1, 3):
                a, b = self.out(f"x{n}.pt2"), self.out(f"y{n}") + f"/x{n}.pt2"
                os.makedirs(os.path.dirname(b), exist_ok=True)
                pt2c.export(part, a, threads=n)
                cli("export", part, "-o", b, *(["--threads", str(n)] if n else []))
                self.same_file(a, b)
                pt2c.convert(cross, a, threads=n)
                cli("convert", cross, "-o", b, *(["--threads", str(n)] if n else []))
                self.same_file(a, b)
                pt2c.resolve_cross(cross, a, threads=n)
                cli("resolve-cross", cross, "-o", b, *(["--threads", str(n)] if n else []))
                self.same_file(a, b)
        finally:
            _lib.lib.pt2c_program_write = real
        self.assertEqual(seen, [(2, n) for n in (0, 1, 3) for _ in range(3)])
        for bad, exc in ((-1, ValueError), (1.5, TypeError), ("2", TypeError), (True, TypeError)):
            with self.assertRaises(exc):
                pt2c.convert(cross, self.out("bad.pt2"), threads=bad)
            with self.assertRaises(exc):
                pt2c.save(None, self.out("bad.pt2"), threads=bad)  # checked before torch is needed
        self.assertFalse(os.path.exists(self.out("bad.pt2")))

    def test_torch_free_import(self):
        r = subprocess.run([sys.executable, "-c", "import sys, pt2c; pt2c.inspect(sys.argv[1]); "
                            "print('torch' in sys.modules)", PT2S[0]], capture_output=True, text=True)
        self.assertEqual(r.returncode, 0, r.stderr)
        self.assertEqual(r.stdout.strip(), "False")


if __name__ == "__main__":
    unittest.main(verbosity=1)
