import os, sys, torch
out = os.environ.get("OUT", ".")
print("torch", torch.__version__)
try:
    import torch_tensorrt
    print("torch_tensorrt", torch_tensorrt.__version__)
except Exception as e:
    print("no torch_tensorrt:", type(e).__name__)
schemas = torch._C._jit_get_all_schemas()
lines = set()
for s in schemas:
    if s.name.startswith(("aten::", "prims::", "quantized::")):
        lines.add(str(s))
lines = sorted(lines)
with open(os.path.join(out, "op_schemas_all.txt"), "w") as f:
    f.write("\n".join(lines) + "\n")
print("schemas", len(lines))
