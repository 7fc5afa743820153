#!/usr/bin/env python3
"""Reference members of a Torch-TensorRT 2.13 / head .pt2, built without torch (stdlib only).

    make_reference.py SOURCE.pt2 TARGET OUTDIR

SOURCE is an archive written by real PyTorch 2.11 with TorchBind engines (../shared/fixtures).
TARGET is "2.13" or "head". OUTDIR receives one file per archive member (root folder dropped),
each built from the upstream writers' rules; PROVENANCE.md next to this script says which rule
made which member. check_reference.py compares them with pt2c's output and loads every engine
object through a torch-free stand-in of _reconstruct_trt_engine.
"""
import base64
import io
import json
import os
import pickle
import sys
import types
import zipfile

TARGETS = {"2.13": "9", "head": "10"}
FIELDS = {"9": 12, "10": 13}
# Field names as register_meta_ops.py spells them (index order), head: 13
FIELD_NAMES = ["abi_version", "name", "serialized_device_info", "serialized_engine",
               "serialized_in_binding_names", "serialized_out_binding_names",
               "serialized_hardware_compatible", "serialized_metadata", "serialized_target_platform",
               "serialized_require_output_allocator", "serialized_resource_allocation_strategy",
               "serialized_requires_native_multidevice", "serialized_aliased_io"]
ENGINE_IDX = 3
NO_OP = "torch.ops.tensorrt.no_op_placeholder_for_execute_engine.default"


# --- stand-ins (torch-free) -------------------------------------------------------------------

class _TorchBindEngine:
    """__torch__.torch.classes.tensorrt.Engine as TorchScript's pickle builds it."""
    def __setstate__(self, state):
        self.state = state


class _TorchBindUnpickler(pickle.Unpickler):
    def find_class(self, module, name):
        if (module, name) == ("__torch__.torch.classes.tensorrt", "Engine"):
            return _TorchBindEngine
        if (module, name) == ("torch.jit._pickle", "restore_type_tag"):
            return lambda value, tag: value
        raise pickle.UnpicklingError(f"unexpected global {module}.{name}")


def torchbind_record(blob):
    """The string list of a torch._C._pickle_save(tensorrt.Engine) blob."""
    with zipfile.ZipFile(io.BytesIO(blob)) as z:
        pkl = [n for n in z.namelist() if n.endswith("/data.pkl")][0]
        obj = _TorchBindUnpickler(io.BytesIO(z.read(pkl))).load()
    return list(obj.state)


def install_trt_standin():
    """torch_tensorrt.dynamo.runtime._TRTEngine with _reconstruct_trt_engine (v2.13.0 rules)."""
    names = ["torch_tensorrt", "torch_tensorrt.dynamo", "torch_tensorrt.dynamo.runtime",
             "torch_tensorrt.dynamo.runtime._TRTEngine"]
    for n in names:
        sys.modules.setdefault(n, types.ModuleType(n))
    mod = sys.modules[names[-1]]
    if hasattr(mod, "_reconstruct_trt_engine"):
        return mod

    def _reconstruct_trt_engine(serialized_info):
        info = list(serialized_info)
        f = info[ENGINE_IDX]
        if isinstance(f, str):
            info[ENGINE_IDX] = base64.b64decode(f.encode("utf-8"))
        elif isinstance(f, bytes) and not f.startswith(b"ftrt"):
            info[ENGINE_IDX] = base64.b64decode(f)
        return ("reconstructed", info)

    _reconstruct_trt_engine.__module__ = names[-1]
    _reconstruct_trt_engine.__qualname__ = "_reconstruct_trt_engine"
    mod._reconstruct_trt_engine = _reconstruct_trt_engine

    class EngineSerializer:  # v2.13.0:py/torch_tensorrt/dynamo/runtime/_TRTEngine.py
        def __init__(self, serialized_info):
            self.serialized_info = serialized_info

        def __reduce__(self):
            state = list(self.serialized_info)
            state[ENGINE_IDX] = base64.b64encode(state[ENGINE_IDX]).decode("utf-8")
            return (_reconstruct_trt_engine, (state,))

    EngineSerializer.__module__ = names[-1]
    EngineSerializer.__qualname__ = "EngineSerializer"
    mod.EngineSerializer = EngineSerializer
    return mod


def cpp_strings(values):
    """Strings as the C++ runtime's __getstate__ hands them to Python (PyUnicode_DecodeUTF8):
    0/1-character ASCII results are CPython's cached singletons."""
    return [v.encode("utf-8").decode("utf-8") for v in values]


def upgrade(info, abi):
    """_pack_engine_info defaults for the fields a record lacks (docs/generations.md)."""
    info = list(info)
    if int(info[0]) > int(abi):
        raise SystemExit(f"record ABI {info[0]} is newer than the target's {abi}")
    while len(info) < FIELDS[abi]:
        info.append("" if len(info) == 12 else "0")
    info[0] = abi
    return info


def opaque_bytes(record_strings):
    """_normalize_engine_constants_to_python + pickle.dumps(EngineSerializer, protocol=2)."""
    mod = install_trt_standin()
    info = cpp_strings(record_strings)
    info[ENGINE_IDX] = base64.b64decode(info[ENGINE_IDX])
    return pickle.dumps(mod.EngineSerializer(info), protocol=2)


def main():
    src, target, outdir = sys.argv[1:4]
    abi = TARGETS[target]
    with zipfile.ZipFile(src) as z:
        names = z.namelist()
        root = names[0].split("/")[0] + "/"
        members = {n[len(root):]: z.read(n) for n in names}
    out = {}
    # constants: _package_constants visits exported_program.constants in order; tensors keep
    # tensor_<n>, ScriptObjects become opaque values -> opaque_obj_<j> (separate counter)
    cfg = json.loads(members["data/constants/model_constants_config.json"])
    new_cfg = {}
    j = 0
    for fqn, meta in cfg["config"].items():
        if meta["path_name"].startswith("custom_obj_"):
            rec = upgrade(torchbind_record(members["data/constants/" + meta["path_name"]]), abi)
            name = f"opaque_obj_{j}"
            j += 1
            out["data/constants/" + name] = opaque_bytes(rec)
            meta = dict(meta, path_name=name)
        else:
            out["data/constants/" + meta["path_name"]] = members["data/constants/" + meta["path_name"]]
        new_cfg[fqn] = meta
    out["data/constants/model_constants_config.json"] = json.dumps({"config": new_cfg}).encode()
    # model.json: cross-compile placeholders get the target's argument list (appended fields with
    # the same defaults); everything else is unchanged (json.dumps default separators, as torch)
    model = json.loads(members["models/model.json"])
    for node in model["graph_module"]["graph"]["nodes"]:
        if node["target"] != NO_OP:
            continue
        ins = node["inputs"]
        have = len(ins) - 1
        if int(ins[1]["arg"]["as_string"]) > int(abi):
            raise SystemExit("placeholder record newer than the target")
        ins[1]["arg"]["as_string"] = abi
        for f in range(have, FIELDS[abi]):
            ins.append({"name": FIELD_NAMES[f], "arg": {"as_string": "" if f == 12 else "0"},
                        "kind": ins[1].get("kind")})
    out["models/model.json"] = json.dumps(model).encode()
    for name, data in members.items():
        if name.startswith("data/constants/"):
            continue
        out.setdefault(name, data)
    os.makedirs(outdir, exist_ok=True)
    for name, data in out.items():
        path = os.path.join(outdir, name)
        os.makedirs(os.path.dirname(path) or outdir, exist_ok=True)
        with open(path, "wb") as f:
            f.write(data)


if __name__ == "__main__":
    main()
