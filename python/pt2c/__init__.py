"""pt2c for Python: save Torch-TensorRT compiled modules as .pt2 archives in one call, load them
back (cross-compiled ones included), and inspect, verify, convert or unpack .pt2 files.

    import pt2c
    pt2c.save(trt_gm, "model.pt2")              # what torch_tensorrt.save(..., retrace=False) does
    ep = pt2c.load("model.pt2")                 # torch.export.load + cross-compile resolution
    pt2c.inspect("model.pt2")                   # dict: inputs, outputs, engines, weights

Only save() and load() need torch; everything else works on files with the C library alone.
Failures raise pt2c.Error (code, message, file, member, offset) or pt2c.SaveError (a module that
cannot be saved, naming the submodule); no call ever leaves a partial output file.
See docs/python.md.
"""
import ctypes
import json
import os

from . import _lib
from ._lib import Error

__all__ = ["Error", "SaveError", "save", "load", "inspect", "verify", "export", "convert", "resolve_cross", "extra_files",
           "engines", "engine_bytes", "program_text", "write_partitioned", "library_version", "__version__"]

__version__ = "0.1.0"


class SaveError(Error):
    """A module that pt2c.save cannot write; the message names the submodule and what to do."""

    def __init__(self, text):
        super().__init__(text, _lib.EUNSUPPORTED, text)


def library_version():
    """Version of the C library in use ("0.1.0")."""
    return _lib.version()


# ---------------------------------------------------------------- files (no torch)

def inspect(path):
    """A summary of a .pt2 as a dict, the same as `pt2c inspect --json`: inputs with shapes and
    dtypes, outputs, node counts by target, weights by dtype, engines with ABI, platform, decoded
    device and size."""
    with _lib.Program.open(path) as p:
        return json.loads(p.summary_json())


def verify(path):
    """Check a .pt2 completely (every member's CRC, the program's structure, signature, engine
    records). Returns the inspect() summary when it is sound; raises Error naming the first
    problem otherwise."""
    with _lib.Program.open(path, verify_crc=True) as p:
        p.lint()
        return json.loads(p.summary_json())


def program_text(path):
    """The program as PyTorch prints an ExportedProgram."""
    with _lib.Program.open(path) as p:
        return p.printed()


def engines(path):
    """The engines a .pt2 holds: name, owner, abi, device, platform, engine_bytes (size) and the
    record's fields (dict)."""
    with _lib.Program.open(path) as p:
        out = p.engines()
        for i, e in enumerate(out):
            e["record"] = json.loads(p.engine_record_json(i))
        return out


def engine_bytes(path, index):
    """The raw serialized engine bytes of engine `index` (decoded from base64 where stored so)."""
    with _lib.Program.open(path) as p:
        return p.engine_bytes(index)


def export(src, dst, *, cross_compile=False, target=None, extra_files=None, threads=0):
    """Partitioned-module archive or JSON form -> .pt2 (what `pt2c export` does). target: the
    Torch-TensorRT generation to write ("2.5" ... "2.13", "head"; docs/generations.md), default
    the engine records' own; extra_files: {name: str or UTF-8 bytes}; threads: threads that
    write (0 = one per usable CPU, 1 = none besides the caller; the bytes are the same)."""
    _lib.check_threads(threads)
    prog = _lib.Module.open(src).export(cross_compile, target)
    try:
        if extra_files:
            prog.set_extra_files(extra_files)
        prog.write(dst, threads=threads)
    finally:
        prog.close()


def convert(src, dst, *, target=None, extra_files=None, threads=0):
    """Read a .pt2 and write it again in PyTorch 2.11's layout (what `pt2c convert` does),
    optionally as another Torch-TensorRT generation and with extra files added or replaced.
    threads: as for export()."""
    _lib.check_threads(threads)
    with _lib.Program.open(src, verify_crc=True) as p:
        if target:
            p.set_target(target)
        if extra_files:
            p.set_extra_files(extra_files)
        p.write(dst, threads=threads)


def extra_files(path):
    """The extra files of a .pt2: {name: bytes}."""
    with _lib.Program.open(path) as p:
        return p.extra_files()


def resolve_cross(src, dst, *, threads=0):
    """Turn a cross-compiled .pt2 (no_op placeholders) into one that runs execute_engine on lifted
    engine objects (what `pt2c resolve-cross` does). threads: as for export()."""
    _lib.check_threads(threads)
    with _lib.Program.open(src, verify_crc=True) as p:
        p.resolve_cross()
        p.write(dst, threads=threads)


# ---------------------------------------------------------------- modules (torch)

def _pointer_of(obj, keep):
    """Address of a bytes-like object's buffer without copying it (kept alive through keep)."""
    import torch
    if isinstance(obj, torch.Tensor):
        t = obj.detach()
        if t.device.type != "cpu" or not t.is_contiguous():
            t = t.cpu().contiguous()
        keep.append(t)
        return t.data_ptr(), t.numel() * t.element_size()
    if isinstance(obj, bytes):
        keep.append(obj)
        return ctypes.cast(ctypes.c_char_p(obj), ctypes.c_void_p).value, len(obj)
    mv = memoryview(obj).cast("B")
    try:
        arr = (ctypes.c_char * mv.nbytes).from_buffer(mv)
    except TypeError:  # read-only and not bytes: one copy
        b = mv.tobytes()
        keep.append(b)
        return ctypes.cast(ctypes.c_char_p(b), ctypes.c_void_p).value, len(b)
    keep.append((mv, arr))
    return ctypes.addressof(arr), mv.nbytes


class _Sources:
    """The member sources of a described module: CPU storages and engines borrowed by address,
    other storages pulled to the host a piece at a time. Exceptions raised while pulling are kept
    in `errors` and re-raised by save()."""

    def __init__(self, members):
        import torch
        self.keep, self.errors, self.views = [], [], {}
        items = list(members.weights) + [(n, None, d) for n, d in members.engines]
        self.array = (_lib.MemberSource * max(1, len(items)))()
        self.pull = _lib.PULL_FN(self._pull)
        self.keep.append(self.array)
        for i, (name, nbytes, obj) in enumerate(items):
            s = self.array[i]
            s.name = name.encode()
            if nbytes is None:  # an engine
                s.data, s.size = _pointer_of(obj, self.keep)
            elif nbytes == 0:
                s.size = 0
            elif obj.device.type == "cpu":
                self.keep.append(obj)
                s.data, s.size = obj.data_ptr(), nbytes
            else:
                self.views[i] = torch.empty(0, dtype=torch.uint8, device=obj.device).set_(obj, 0, (nbytes,), (1,))
                s.pull, s.ctx, s.size = self.pull, i, nbytes
        self.n = len(items)

    def _pull(self, ctx, offset, buf, n):
        import torch
        try:
            dst = torch.frombuffer((ctypes.c_char * n).from_address(buf), dtype=torch.uint8)
            dst.copy_(self.views[ctx or 0][offset:offset + n])
            return 0
        except BaseException as e:  # reported by save(); C sees a failed source
            self.errors.append(e)
            return 1


def _describe_module(module, target=None):
    import torch
    from . import _describe as d
    members = d.Members()
    try:
        if isinstance(module, torch.export.ExportedProgram):
            module = d.from_exported_program(module)
        gm = d.unwrap(module)
        if not isinstance(gm, torch.fx.GraphModule):
            raise d.SaveError(f"pt2c.save takes a Torch-TensorRT compiled module (a torch.fx.GraphModule with "
                              f"_run_on_acc_N engine submodules) or an ExportedProgram, not {type(module).__name__}")
        doc = d.describe(gm, members, target)
    except d.SaveError as e:
        raise SaveError(str(e)) from None
    return d.module_json(doc), members


def save(module, path, *, cross_compile=False, extra_files=None, progress=None, target=None, threads=0):
    """Write a Torch-TensorRT compiled module as a .pt2 archive in one call: what
    `torch_tensorrt.save(module, path, output_format="exported_program", retrace=False)` does,
    without its defects, its intermediate copies or a second copy of the model in memory.

    module: the result of torch_tensorrt.compile / dynamo.compile (engine submodules of the C++
        or Python runtime), a CudaGraphsTorchTensorRTModule / MutableTorchTensorRTModule, or an
        ExportedProgram (with execute_engine calls on tensorrt.Engine objects, or none).
    cross_compile: engines become no_op_placeholder_for_execute_engine calls (the Windows flow).
    extra_files: {name: str or bytes} stored as torch.export.save(extra_files=) does.
    progress: callable(done_bytes, total_bytes), called now and then while writing.
    threads: threads that checksum, encode and write (0 = one per usable CPU, 1 = none besides
        the caller); the file's bytes do not depend on it. CUDA weights are still copied to the
        host on the calling thread only.
    target: the Torch-TensorRT release that will load the file ("2.5" ... "2.13", "head";
        docs/generations.md): engine records, engine objects and placeholders in its form.
        Default: the engine records' own generation. Python-runtime engine modules need it
        (their record layout depends on it) unless torch_tensorrt is installed.
    Raises SaveError naming the submodule for modules it cannot write, Error for anything else;
    never leaves a partial file.
    """
    _lib.check_threads(threads)
    js, members = _describe_module(module, target)
    src = _Sources(members)
    prog = _lib.Module.build(js, src.array, src.n, src).export(cross_compile, target)
    try:
        if extra_files:
            prog.set_extra_files(extra_files)
        prog.write(path, progress, threads)
    except Error as e:
        if src.errors:
            raise e from src.errors[0]
        raise
    finally:
        prog.close()


def write_partitioned(module, path, *, target=None):
    """Write the module as a partitioned-module archive (docs/partitioned-format.md), for
    `pt2c export` elsewhere; pt2c.save needs no such file."""
    from . import _archive
    js, members = _describe_module(module, target)
    weights = [(n, nb, (lambda s=s: _archive.storage_chunks(s))) for n, nb, s in members.weights]
    engines = []
    for n, data in members.engines:
        import torch
        engines.append((n, data.numpy() if isinstance(data, torch.Tensor) else data))
    _archive.write_archive(path, js, weights, engines)


NO_OP = "no_op_placeholder_for_execute_engine"


def _ensure_runtime():
    """Import torch_tensorrt when it is installed (it registers tensorrt::Engine and the ops)."""
    try:
        import torch_tensorrt  # noqa: F401
    except Exception:
        pass


def _resolve_placeholders(ep):
    """Cross-compile placeholders -> execute_engine on tensorrt.Engine objects. Existing getitem
    users are kept as they are (upstream's #3400: no second getitem on single-output engines)."""
    import base64
    import torch
    gm = ep.graph_module
    nodes = [n for n in gm.graph.nodes if n.op == "call_function" and NO_OP in str(n.target)]
    for node in nodes:
        info = list(node.args[1:])
        eng = info[3]
        if isinstance(eng, torch.Tensor):
            info[3] = eng.detach().cpu().contiguous().view(torch.uint8).numpy().tobytes()
        else:
            info[3] = base64.b64decode(eng)
        engine = torch.classes.tensorrt.Engine(info)
        name = info[1]
        setattr(gm, name, engine)
        with gm.graph.inserting_before(node):
            get = gm.graph.get_attr(name)
            call = gm.graph.call_function(torch.ops.tensorrt.execute_engine.default, (node.args[0], get))
        call.meta["val"] = node.meta.get("val")
        node.replace_all_uses_with(call)
        gm.graph.erase_node(node)
    if nodes:
        gm.graph.lint()
        gm.recompile()
    return ep


def load(path, *, extra_files=None, fast=None):
    """What torch.export.load(path, extra_files=extra_files) returns, loaded fast, with
    Torch-TensorRT's runtime imported when installed and the cross-compile placeholders of a
    cross-compiled file replaced by execute_engine calls, so that `pt2c.load(path).module()(*inputs)`
    runs.

    fast: None (default) -- pt2c's loader (archive mapped, weights over the mapping, engine objects
    built from their raw bytes, schema converted without per-object reflection, then PyTorch's
    own ExportedProgramDeserializer: docs/python.md), or torch.export.load where the archive
    needs it (legacy layouts, AOTInductor packages, several models); True -- pt2c's loader or an
    error saying why not; False -- torch.export.load."""
    import torch  # noqa: F401
    _ensure_runtime()
    path = os.fspath(path)
    ep = None
    if fast is not False:
        from . import _load
        try:
            ep = _load.load(path, extra_files)
        except _load._Fallback as e:
            if fast:
                raise Error(f"{path}: the fast loader cannot read this archive: {e}") from None
    if ep is None:
        ep = torch.export.load(path, extra_files=extra_files)
    return _resolve_placeholders(ep)
