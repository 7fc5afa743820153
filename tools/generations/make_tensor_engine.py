#!/usr/bin/env python3
"""A 2.13 cross-compile .pt2 whose engines are tensor-typed `serialized_engine` arguments, built
without torch (stdlib only) from an archive real PyTorch 2.11 wrote (docs/generations.md, D).

    make_tensor_engine.py SOURCE.cross.pt2 OUT.pt2

No Torch-TensorRT release writes this form into a .pt2 (its cross-compile exporter passes a str;
only the ExecuTorch path builds the tensor), so the file stands for "a program whose engine buffer
was lifted" -- the case pt2c's readers (inspect, engines, resolve-cross) accept. Member by member
(PROVENANCE.md has the table):

- Start from make_reference.py's 2.13 members of SOURCE (placeholders with the 12 arguments of
  v2.13.0's register_meta_ops.py: ABI "9", added fields "0").
- Each placeholder's `serialized_engine` (as_string base64) becomes {"as_tensor": {"name":
  "_trt_engine_<k>"}}: the buffer v2.13.0:py/torch_tensorrt/_compile.py
  `_replace_execute_engine_for_executorch` registers (get_unique_attr_name_in_module(gm,
  "_trt_engine_0") -> _trt_engine_0, _trt_engine_1, ...; `torch.frombuffer(bytearray(engine),
  dtype=torch.uint8)`, persistent=True, in the state dict), here lifted as torch.export lifts a
  persistent buffer: a placeholder (named like the seed exporter's lift names it: the target with
  '.' -> '_') in the graph's inputs and an input spec {"buffer": {"arg": {"name"}, "buffer_name",
  "persistent": true}} placed after the existing buffers (canonical order: parameters, buffers,
  constants, custom objects, user inputs), with tensor_values metadata uint8 [N], strides [1].
- Its bytes: data/weights/weight_<n> (next free number) holding the raw engine, and a
  model_weights_config.json entry {"path_name", "is_param": false, "use_pickle": false,
  "tensor_meta": <same metadata>} appended (pytorch/pytorch torch/export/pt2_archive/_package.py
  `_package_state_dict`, the layout of the SOURCE's own entries).
- Zip: stored members in PyTorch's order (weights, weights config, constants config, model.json,
  sample_inputs, archive_format, archive_version, .data/version, byteorder,
  .data/serialization_id), root folder = OUT's file name without extension, written by Python's
  zipfile (no 64-byte alignment: readers must not rely on it). json.dumps default separators, as
  torch.
"""
import base64
import json
import os
import subprocess
import sys
import tempfile
import zipfile

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, HERE)
import make_reference as mr  # noqa: E402

ORDER = ["data/weights/", "data/weights/model_weights_config.json", "data/constants/",
         "data/constants/model_constants_config.json", "models/model.json", "data/sample_inputs/model.pt",
         "archive_format", "archive_version", ".data/version", "byteorder", ".data/serialization_id"]


def rank(name):
    for i, p in enumerate(ORDER):
        if name == p or (p.endswith("/") and name.startswith(p) and not name.endswith(".json")):
            return (i, name)
    return (len(ORDER), name)


def meta_u8(n):
    return {"dtype": 1, "sizes": [{"as_int": n}], "requires_grad": False, "device": {"type": "cpu", "index": None},
            "strides": [{"as_int": 1}], "storage_offset": {"as_int": 0}, "layout": 7}


def main():
    src, out = sys.argv[1:3]
    with tempfile.TemporaryDirectory() as tmp:
        subprocess.run([sys.executable, os.path.join(HERE, "make_reference.py"), src, "2.13", tmp], check=True)
        members = {}
        for d, _, files in os.walk(tmp):
            for f in files:
                p = os.path.join(d, f)
                members[os.path.relpath(p, tmp)] = open(p, "rb").read()
    model = json.loads(members["models/model.json"])
    gm = model["graph_module"]
    graph, sig = gm["graph"], gm["signature"]
    wcfg = json.loads(members["data/weights/model_weights_config.json"])
    n_weight = sum(1 for n in members if n.startswith("data/weights/weight_"))
    k = 0
    new_specs = []
    for node in graph["nodes"]:
        if node["target"] != mr.NO_OP:
            continue
        arg = next(i for i in node["inputs"] if i["name"] == "serialized_engine")
        engine = base64.b64decode(arg["arg"]["as_string"])
        name = f"_trt_engine_{k}"
        k += 1
        arg["arg"] = {"as_tensor": {"name": name}}
        graph["tensor_values"][name] = meta_u8(len(engine))
        path = f"weight_{n_weight}"
        n_weight += 1
        members["data/weights/" + path] = engine
        wcfg["config"][name] = {"path_name": path, "is_param": False, "use_pickle": False,
                                "tensor_meta": meta_u8(len(engine))}
        new_specs.append(({"buffer": {"arg": {"name": name}, "buffer_name": name, "persistent": True}},
                          {"as_tensor": {"name": name}}))
    # after the last parameter/buffer spec (the graph's inputs follow the specs one to one)
    at = 0
    for i, s in enumerate(sig["input_specs"]):
        if "parameter" in s or "buffer" in s:
            at = i + 1
    sig["input_specs"][at:at] = [s for s, _ in new_specs]
    graph["inputs"][at:at] = [g for _, g in new_specs]
    members["models/model.json"] = json.dumps(model).encode()
    members["data/weights/model_weights_config.json"] = json.dumps(wcfg).encode()
    root = os.path.splitext(os.path.basename(out))[0]
    tmp_out = out + ".tmp"
    with zipfile.ZipFile(tmp_out, "w", zipfile.ZIP_STORED) as z:
        for name in sorted(members, key=rank):
            info = zipfile.ZipInfo(f"{root}/{name}", date_time=(1980, 1, 1, 0, 0, 0))
            z.writestr(info, members[name])
    os.replace(tmp_out, out)


if __name__ == "__main__":
    main()
