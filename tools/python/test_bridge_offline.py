"""Offline tests of pt2c_bridge.py: the parts that need neither torch nor numpy (member naming and
dedup, JSON pieces, the zip layout, atomic writing), with fake storages.

    python3 tools/python/test_bridge_offline.py
"""
import array
import json
import os
import struct
import sys
import tempfile
import unittest
import zipfile

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import pt2c_bridge as br  # noqa: E402

ITEMSIZE = {"float32": 4, "float16": 2, "int64": 8, "uint8": 1}


class FakeStorage:
    """Stands in for an untyped storage: a key like (data_ptr, device, dtype) and its bytes."""

    def __init__(self, ptr, data, dtype="float32"):
        self.key, self.data = (ptr, "cpu", dtype), bytearray(data)
        self.calls = 0

    def source(self, chunk=5):
        def gen():
            self.calls += 1
            yield from br.chunks(self.data, chunk)
        return gen


def weight(members, st, sizes, strides, offset=0, persistent=True):
    meta = {"dtype": st.key[2], "sizes": sizes, "strides": strides, "device": "cpu"}
    name = members.weight(st.key, len(st.data), st.source())
    return br.weight_entry(meta, name, offset, False, persistent)


def local_data_offsets(path):
    """member name -> (data offset, local extra field ids), by parsing the local headers."""
    out = {}
    with open(path, "rb") as f:
        raw = f.read()
    with zipfile.ZipFile(path) as z:
        for zi in z.infolist():
            h = zi.header_offset
            sig, nlen, xlen = struct.unpack_from("<I22xHH", raw, h)
            assert sig == 0x04034B50
            x, ids, i = raw[h + 30 + nlen:h + 30 + nlen + xlen], [], 0
            while i + 4 <= len(x):
                fid, sz = struct.unpack_from("<HH", x, i)
                ids.append(fid)
                i += 4 + sz
            assert i == len(x), "extra fields must exactly fill the extra data"
            out[zi.filename] = (h + 30 + nlen + xlen, ids)
    return out


class BridgeTest(unittest.TestCase):
    def setUp(self):
        self.dir = tempfile.TemporaryDirectory()
        self.path = os.path.join(self.dir.name, "m.pt2c-partitioned")

    def tearDown(self):
        self.dir.cleanup()

    def build(self):
        """Tied weights, a view, a second dtype over the same pointer, a buffer, two engines."""
        m = br.Members()
        a = FakeStorage(0x1000, bytes(range(64)))            # 16 float32
        a16 = FakeStorage(0x1000, bytes(range(64)), "float16")  # same pointer, other dtype
        b = FakeStorage(0x2000, b"\x07" * 24, "int64")
        e = FakeStorage(0, b"")
        doc = {
            "graph": [{"op": "output", "name": "output", "target": "output", "args": [[]],
                       "kwargs": {}, "val": None}],
            "submodules": {
                "_run_on_acc_0": {"kind": "engine", "engine_record": br.engine_record(
                    ["6", "_run_on_acc_0_engine", "0%9%0%0%GPU", b"PLAN-0" * 50, "x", "output0",
                     "0", "meta", "linux_x86_64"], "_run_on_acc_0", m)},
                "_run_on_gpu_1": {"kind": "graph", "graph": [], "parameters": {
                    "w": weight(m, a, [4, 4], [4, 1]),
                    "w_tied": weight(m, a, [4, 4], [4, 1]),
                    "row2": weight(m, a, [4], [1], offset=8)}, "buffers": {}},
                "_run_on_acc_2": {"kind": "engine", "engine_record": br.engine_record(
                    ["6", "_run_on_acc_2_engine", "0%9%0%0%GPU", bytearray(b"\xff" * 3), "", "",
                     "0", "meta", "linux_x86_64"], "_run_on_acc_2", m)},
            },
            "parameters": {"h": weight(m, a16, [32], [1])},
            "buffers": {"count": weight(m, b, [3], [1], persistent=False),
                        "empty": weight(m, e, [0], [1])},
            "in_spec": None, "out_spec": None, "symbols": {"s0": [1, None]},
        }
        return doc, m, (a, a16, b, e)

    def test_members_and_json_pieces(self):
        doc, m, (a, a16, b, e) = self.build()
        p = doc["submodules"]["_run_on_gpu_1"]["parameters"]
        self.assertEqual([n for n, _, _ in m.weights], ["weights/0", "weights/1", "weights/2",
                                                         "weights/3"])
        self.assertEqual(p["w"]["data_member"], "weights/0")
        self.assertEqual(p["w_tied"]["data_member"], "weights/0")   # tied: one member
        self.assertEqual(p["row2"]["data_member"], "weights/0")     # view: same member
        self.assertEqual(p["row2"]["storage_offset"], 8)
        self.assertNotIn("storage_offset", p["w"])
        self.assertNotIn("data_b64", p["w"])
        self.assertEqual(doc["parameters"]["h"]["data_member"], "weights/1")  # other dtype
        self.assertIs(doc["buffers"]["count"]["persistent"], False)
        self.assertNotIn("persistent", p["w"])
        rec = doc["submodules"]["_run_on_acc_0"]["engine_record"]
        self.assertEqual(rec[3], {"member": "engines/_run_on_acc_0"})
        self.assertEqual(rec[:3] + rec[4:], ["6", "_run_on_acc_0_engine", "0%9%0%0%GPU", "x",
                                             "output0", "0", "meta", "linux_x86_64"])
        with self.assertRaises(ValueError):
            m.engine("_run_on_acc_0", b"again")
        with self.assertRaises(TypeError):   # base64 text instead of raw bytes
            br.engine_record(["6", "n", "d", "UExBTg==", "", "", "0", "m", "p"], "_run_on_acc_9", m)
        json.dumps(doc)  # plain JSON values only

    def test_archive_layout(self):
        doc, m, (a, a16, b, e) = self.build()
        br.write_archive(self.path, doc, m)
        with zipfile.ZipFile(self.path) as z:
            names = z.namelist()
            self.assertEqual(names, ["partitioned/" + n for n in (
                "format", "version", "module.json", "weights/0", "weights/1", "weights/2",
                "weights/3", "engines/_run_on_acc_0", "engines/_run_on_acc_2")])
            self.assertIsNone(z.testzip())   # every CRC checks
            self.assertTrue(all(zi.compress_type == zipfile.ZIP_STORED for zi in z.infolist()))
            self.assertEqual(z.read("partitioned/format"), b"pt2c-partitioned")
            self.assertEqual(z.read("partitioned/version"), b"1")
            self.assertEqual(json.loads(z.read("partitioned/module.json")), doc)
            for st, n in ((a, 0), (a16, 1), (b, 2), (e, 3)):
                self.assertEqual(z.read(f"partitioned/weights/{n}"), bytes(st.data))
                self.assertEqual(st.calls, 1)   # each storage streamed once
            self.assertEqual(z.read("partitioned/engines/_run_on_acc_0"), b"PLAN-0" * 50)
            self.assertEqual(z.read("partitioned/engines/_run_on_acc_2"), b"\xff" * 3)
            # every data_member exists and every view fits in it
            def walk(ws):
                for w in ws.values():
                    size = z.getinfo("partitioned/" + w["data_member"]).file_size
                    end = w.get("storage_offset", 0) + (0 if 0 in w["sizes"] else 1 + sum(
                        (s - 1) * t for s, t in zip(w["sizes"], w["strides"])))
                    self.assertLessEqual(end * ITEMSIZE[w["dtype"]], size)
            for ws in (doc["parameters"], doc["buffers"],
                       doc["submodules"]["_run_on_gpu_1"]["parameters"]):
                walk(ws)
        for name, (off, ids) in local_data_offsets(self.path).items():
            self.assertEqual(off % 64, 0, name)              # data aligned on 64 bytes
            self.assertEqual(ids, [0x4246, 0x0001], name)    # "FB" padding, then zip64 sizes
        self.assertEqual(os.listdir(self.dir.name), ["m.pt2c-partitioned"])
        umask = os.umask(0)
        os.umask(umask)
        self.assertEqual(os.stat(self.path).st_mode & 0o777, 0o666 & ~umask)

    def test_atomic_on_failure(self):
        with open(self.path, "wb") as f:
            f.write(b"old")
        m = br.Members()

        def bad():
            yield b"1234"
            raise OSError("device lost")
        m.weight(("p", "cpu", "uint8"), 8, bad)
        with self.assertRaises(OSError):
            br.write_archive(self.path, {}, m)
        with open(self.path, "rb") as f:
            self.assertEqual(f.read(), b"old")     # target untouched
        self.assertEqual(os.listdir(self.dir.name), ["m.pt2c-partitioned"])  # no temp left

    def test_size_mismatch_rejected(self):
        m = br.Members()
        m.weight(("p", "cpu", "uint8"), 10, lambda: iter([b"short"]))
        with self.assertRaises(ValueError):
            br.write_archive(self.path, {}, m)
        self.assertFalse(os.path.exists(self.path))

    def test_chunks_zero_copy(self):
        buf = bytearray(b"abcdefghij")
        pieces = list(br.chunks(buf, 4))
        self.assertEqual([bytes(p) for p in pieces], [b"abcd", b"efgh", b"ij"])
        buf[0] = ord("z")
        self.assertEqual(bytes(pieces[0]), b"zbcd")   # views, not copies
        f = array.array("f", [1.0, 2.0])               # typed buffers come out as bytes
        self.assertEqual(b"".join(br.chunks(f, 3)), f.tobytes())
        self.assertEqual(list(br.chunks(b"")), [])

    def test_big_member_streams(self):
        data = bytearray(os.urandom(1 << 20) * 5)     # 5 MiB in 64 KiB pieces
        m = br.Members()
        m.weight(("big", "cpu", "uint8"), len(data), lambda: br.chunks(data, 1 << 16))
        br.write_archive(self.path, {"x": 1}, m)
        with zipfile.ZipFile(self.path) as z:
            self.assertEqual(z.read("partitioned/weights/0"), bytes(data))


if __name__ == "__main__":
    unittest.main()
