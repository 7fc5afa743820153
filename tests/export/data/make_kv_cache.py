#!/usr/bin/env python3
"""Writes kv_cache.partitioned.json (stdlib only; run from this folder to regenerate).

A partitioned module shaped like a Torch-TensorRT KV-cache decoder step (upstream #4445): one
engine segment whose record (ABI "10", 13 fields) declares aliased I/O, then one fallback segment.

    x: f32[1, 4] (user input), state: f32[1, 4] (user input)
    k_cache, v_cache: f32[1, 4] top-level buffers (persistent)
    _run_on_acc_0(x, k_cache, v_cache, state) -> [y]      bindings input_0..input_3 / output_0..output_3
        ALIASED_IO = output_1@input_1@kv_cache_update % output_2@input_2@kv_cache_update
                     % output_3@input_3@user
    _run_on_gpu_0(y) -> relu(y)                            the module's one output

What upstream's legacy exporter makes of it (docs/generations.md, section E): output_1 and output_2
are fed by the buffers' get_attr nodes and become BUFFER_MUTATION outputs of k_cache and v_cache
(getitem_1, getitem_2, prepended to the outputs, in binding order); output_3 aliases a user input
(`state`, no buffer), so it is left undeclared; the engine's output metadata covers indices 0..2.

The engine bytes are a stand-in (ASCII text, not an engine): the C tests and the torch-free checks
never run it. tools/interop/kv_cache_proof.py builds a runnable variant on the accelerator machine.
"""
import base64
import json
import struct

F32 = lambda sizes: {"dtype": "float32", "sizes": sizes, "strides": [sizes[1], 1], "device": "cpu"}
T = F32([1, 4])
LEAF = {"type": None, "context": None, "children_spec": []}
# the metadata field of the fixtures' records (pickle of {"settings": None, "weight_name_map": None})
METADATA = "gASVJAAAAAAAAAB9lCiMCHNldHRpbmdzlE6MD3dlaWdodF9uYW1lX21hcJROdS4="
ALIASED_IO = ("output_1@input_1@kv_cache_update%output_2@input_2@kv_cache_update"
              "%output_3@input_3@user")


def weight(values):
    return dict(T, data_b64=base64.b64encode(struct.pack("<4f", *values)).decode(), requires_grad=False)


def record(engine_bytes):
    return ["10", "_run_on_acc_0_engine", "0%9%0%1%NVIDIA H100 80GB HBM3",
            base64.b64encode(engine_bytes).decode(), "input_0%input_1%input_2%input_3",
            "output_0%output_1%output_2%output_3", "0", METADATA, "linux_x86_64", "0", "0", "0", ALIASED_IO]


def module(engine_bytes, k=(0.5, 0.25, -0.5, 1.0), v=(2.0, -1.0, 0.0, 0.125)):
    node = lambda op, name, target, args, val: {"op": op, "name": name, "target": target, "args": args,
                                               "kwargs": {}, "val": val}
    ref = lambda n: {"node": n}
    graph = [
        node("placeholder", "x", "x", [], T),
        node("placeholder", "state", "state", [], T),
        node("get_attr", "k_cache", "k_cache", [], T),
        node("get_attr", "v_cache", "v_cache", [], T),
        node("call_module", "_run_on_acc_0", "_run_on_acc_0",
             [ref("x"), ref("k_cache"), ref("v_cache"), ref("state")], [T]),
        node("call_module", "_run_on_gpu_0", "_run_on_gpu_0", [ref("_run_on_acc_0")], T),
        node("output", "output", "output", [[ref("_run_on_gpu_0")]], [T]),
    ]
    fallback = [
        node("placeholder", "y", "y", [], T),
        node("call_function", "relu_default", "torch.ops.aten.relu.default", [ref("y")], T),
        node("output", "output", "output", [ref("relu_default")], None),
    ]
    tup = lambda kids: {"type": "builtins.tuple", "context": "null", "children_spec": kids}
    return {
        "graph": graph,
        "submodules": {
            "_run_on_acc_0": {"kind": "engine", "engine_record": record(engine_bytes)},
            "_run_on_gpu_0": {"kind": "graph", "graph": fallback, "parameters": {}, "buffers": {}},
        },
        "parameters": {},
        "buffers": {"k_cache": weight(k), "v_cache": weight(v)},
        "in_spec": json.dumps([1, tup([tup([LEAF, LEAF]), {"type": "builtins.dict", "context": "[]",
                                                            "children_spec": []}])]),
        "out_spec": json.dumps([1, LEAF]),
        "symbols": {},
    }


if __name__ == "__main__":
    with open("kv_cache.partitioned.json", "w") as f:
        json.dump(module(b"pt2c test stand-in: a KV-cache engine with aliased outputs\n"), f, indent=1)
        f.write("\n")
