"""ctypes binding to the pt2c C library (include/pt2c/*.h): the only place that knows C types.

The library is the one this package was built with (`_libpt2c*.so` next to this file), or the
one named by the environment variable PT2C_LIBRARY (a libpt2c.so from a CMake build tree).
Nothing here imports torch.
"""
import ctypes
import glob
import os

_HERE = os.path.dirname(os.path.abspath(__file__))

# error codes (include/pt2c/common.h)
EINVALID, ENOMEM, EIO, ECORRUPT, EUNSUPPORTED, ENOTFOUND, EGRAPH = -1, -2, -3, -4, -5, -6, -7
CODE_NAMES = {EINVALID: "invalid argument", ENOMEM: "out of memory", EIO: "I/O error",
              ECORRUPT: "corrupt input", EUNSUPPORTED: "unsupported", ENOTFOUND: "not found",
              EGRAPH: "graph error"}
READ_VERIFY_CRC = 1


class Error(Exception):
    """A pt2c failure: `code` (a negative PT2C_E* value), `code_name`, `message`, and where:
    `file`, `member` (archive member or JSON pointer), `offset` (byte offset or None)."""

    def __init__(self, text, code=EINVALID, message="", file="", member="", offset=None):
        super().__init__(text)
        self.code, self.code_name = code, CODE_NAMES.get(code, "error")
        self.message, self.file, self.member, self.offset = message or text, file, member, offset


class _CError(ctypes.Structure):
    _fields_ = [("code", ctypes.c_int), ("message", ctypes.c_char * 512), ("file", ctypes.c_char * 256),
                ("member", ctypes.c_char * 256), ("offset", ctypes.c_uint64)]

    @classmethod
    def new(cls):
        e = cls()
        e.offset = (1 << 64) - 1
        return e


PULL_FN = ctypes.CFUNCTYPE(ctypes.c_int, ctypes.c_void_p, ctypes.c_uint64, ctypes.c_void_p, ctypes.c_size_t)
RELEASE_FN = ctypes.CFUNCTYPE(None, ctypes.c_void_p)
PROGRESS_FN = ctypes.CFUNCTYPE(None, ctypes.c_uint64, ctypes.c_uint64, ctypes.c_void_p)


class MemberSource(ctypes.Structure):
    _fields_ = [("name", ctypes.c_char_p), ("data", ctypes.c_void_p), ("size", ctypes.c_uint64),
                ("pull", PULL_FN), ("release", RELEASE_FN), ("ctx", ctypes.c_void_p)]


class ReadOptions(ctypes.Structure):
    _fields_ = [("version", ctypes.c_uint), ("flags", ctypes.c_uint), ("max_json_depth", ctypes.c_uint32),
                ("alloc", ctypes.c_void_p)]


class WriteOptions(ctypes.Structure):
    """pt2c_write_options, version 2 (include/pt2c/program.h): `threads` 0 = one per usable CPU
    (affinity mask and cgroup quota: pt2c__cpu_count)."""
    _fields_ = [("version", ctypes.c_uint), ("root", ctypes.c_char_p), ("progress", PROGRESS_FN),
                ("payload", ctypes.c_void_p), ("threads", ctypes.c_uint)]


WRITE_OPTIONS_VERSION = 2


def check_threads(threads):
    """The `threads=` argument: a non-negative int (0 = one per usable CPU, 1 = no other thread)."""
    if isinstance(threads, bool) or not isinstance(threads, int):
        raise TypeError(f"threads must be an int, not {type(threads).__name__}")
    if threads < 0 or threads > 0xFFFFFFFF:
        raise ValueError(f"threads must be 0 (one per CPU) or a positive count, not {threads}")
    return threads


class ExportOptions(ctypes.Structure):
    _fields_ = [("version", ctypes.c_uint), ("cross_compile", ctypes.c_int), ("target", ctypes.c_char_p)]


class EngineInfo(ctypes.Structure):
    _fields_ = [("name", ctypes.c_char_p), ("owner", ctypes.c_char_p), ("abi", ctypes.c_uint),
                ("device", ctypes.c_char_p), ("platform", ctypes.c_char_p), ("engine_bytes", ctypes.c_uint64)]


def _find_library():
    env = os.environ.get("PT2C_LIBRARY")
    if env:
        return env
    found = sorted(glob.glob(os.path.join(_HERE, "_libpt2c*.so")) + glob.glob(os.path.join(_HERE, "_libpt2c*.dylib")))
    if not found:
        raise ImportError("pt2c: the C library is missing from the package (no _libpt2c*.so in %s); "
                          "install with `pip install --no-index --no-build-isolation .` from the pt2c "
                          "checkout, or set PT2C_LIBRARY to a built libpt2c.so" % _HERE)
    return found[0]


LIB_PATH = _find_library()
lib = ctypes.CDLL(LIB_PATH)

_P = ctypes.c_void_p
_PP = ctypes.POINTER(ctypes.c_void_p)
_E = ctypes.POINTER(_CError)
_SZ = ctypes.POINTER(ctypes.c_size_t)
_CPP = ctypes.POINTER(ctypes.c_char_p)


def _sig(name, res, *args):
    f = getattr(lib, name)
    f.restype, f.argtypes = res, list(args)
    return f


_sig("pt2c_version", ctypes.c_char_p)
_sig("pt2c_free", None, _P)
_sig("pt2c_error_format", ctypes.c_int, _E, ctypes.c_char_p, ctypes.c_size_t)
_sig("pt2c_module_open", ctypes.c_int, _PP, ctypes.c_char_p, _P, _E)
_sig("pt2c_module_build", ctypes.c_int, _PP, ctypes.c_char_p, ctypes.c_size_t, ctypes.POINTER(MemberSource),
     ctypes.c_size_t, _P, _E)
_sig("pt2c_module_free", None, _P)
_sig("pt2c_export", ctypes.c_int, _PP, _PP, ctypes.POINTER(ExportOptions), _E)
_sig("pt2c_program_open", ctypes.c_int, _PP, ctypes.c_char_p, ctypes.POINTER(ReadOptions), _E)
_sig("pt2c_program_write", ctypes.c_int, _P, ctypes.c_char_p, ctypes.POINTER(WriteOptions), _E)
_sig("pt2c_program_free", None, _P)
_sig("pt2c_program_print", ctypes.c_int, _P, ctypes.POINTER(ctypes.c_void_p), _SZ)
_sig("pt2c_program_lint", ctypes.c_int, _P, _E)
_sig("pt2c_program_resolve_cross", ctypes.c_int, _P, _E)
_sig("pt2c_program_summary", ctypes.c_int, _P, ctypes.c_int, ctypes.POINTER(ctypes.c_void_p), _SZ)
_sig("pt2c_program_engine_count", ctypes.c_size_t, _P)
_sig("pt2c_program_engine_info", ctypes.c_int, _P, ctypes.c_size_t, ctypes.POINTER(EngineInfo))
_sig("pt2c_program_engine_bytes", ctypes.c_int, _P, ctypes.c_size_t, ctypes.POINTER(ctypes.c_void_p), _SZ, _E)
_sig("pt2c_program_engine_bytes_into", ctypes.c_int, _P, ctypes.c_size_t, _P, ctypes.c_size_t, _SZ, _E)
_sig("pt2c_program_engine_record_json", ctypes.c_int, _P, ctypes.c_size_t, ctypes.POINTER(ctypes.c_void_p), _SZ)
_sig("pt2c_program_set_target", ctypes.c_int, _P, ctypes.c_char_p, _E)
_sig("pt2c_program_extra_file_count", ctypes.c_size_t, _P)
_sig("pt2c_program_extra_file", ctypes.c_int, _P, ctypes.c_size_t, ctypes.POINTER(ctypes.c_char_p),
     ctypes.POINTER(ctypes.c_void_p), _SZ)
_sig("pt2c_program_set_extra_file", ctypes.c_int, _P, ctypes.c_char_p, ctypes.c_char_p, ctypes.c_size_t, _E)
_sig("pt2c_archive_list", ctypes.c_int, ctypes.c_char_p, ctypes.POINTER(ReadOptions), ctypes.POINTER(ctypes.c_void_p),
     _SZ, _E)


def version():
    return lib.pt2c_version().decode()


def fs(path):
    """A path as the bytes the C library takes."""
    return os.fsencode(os.fspath(path))


def raise_for(rc, err, what=""):
    """Raise Error for a nonzero return code, with the C error's text and location."""
    if rc == 0:
        return
    buf = ctypes.create_string_buffer(2048)
    lib.pt2c_error_format(ctypes.byref(err), buf, len(buf))
    text = buf.value.decode("utf-8", "replace") or CODE_NAMES.get(rc, "error %d" % rc)
    off = None if err.offset == (1 << 64) - 1 else int(err.offset)
    raise Error(f"{what}{text}" if what else text, rc, err.message.decode("utf-8", "replace"),
                err.file.decode("utf-8", "replace"), err.member.decode("utf-8", "replace"), off)


def archive_list(path):
    """pt2c_archive_list: "<data offset> <size> <crc32 hex> <name>" a line, central-directory order."""
    out, n, err = ctypes.c_void_p(), ctypes.c_size_t(), _CError.new()
    raise_for(lib.pt2c_archive_list(fs(path), None, ctypes.byref(out), ctypes.byref(n), ctypes.byref(err)), err)
    try:
        return ctypes.string_at(out, n.value).decode("utf-8", "surrogateescape")
    finally:
        lib.pt2c_free(out)


def take_string(ptr, n):
    """Copy a string the library handed out, then free it."""
    try:
        return ctypes.string_at(ptr, n.value).decode("utf-8", "replace")
    finally:
        lib.pt2c_free(ptr)


# A bytes object of n bytes not yet written (PyBytes_FromStringAndSize(NULL, n), the C API's way
# to fill a new bytes object in place; nothing else holds it until it is returned), and the
# address of its buffer (ctypes hands C the internal buffer of a bytes object).
try:
    _new_bytes = ctypes.pythonapi.PyBytes_FromStringAndSize
    _new_bytes.restype = ctypes.py_object
    _new_bytes.argtypes = [ctypes.c_void_p, ctypes.c_ssize_t]
except (AttributeError, OSError):  # not CPython
    _new_bytes = None


def _bytes_address(b):
    return ctypes.cast(ctypes.c_char_p(b), ctypes.c_void_p)


class Program:
    """An open program handle (pt2c_program *), freed by close() or when collected."""

    def __init__(self, handle):
        self.h = handle

    @classmethod
    def open(cls, path, verify_crc=False):
        opts = ReadOptions(1, READ_VERIFY_CRC if verify_crc else 0, 0, None)
        h, err = ctypes.c_void_p(), _CError.new()
        raise_for(lib.pt2c_program_open(ctypes.byref(h), fs(path), ctypes.byref(opts), ctypes.byref(err)), err)
        return cls(h)

    def close(self):
        if self.h:
            lib.pt2c_program_free(self.h)
            self.h = None

    __del__ = close

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        self.close()

    def write(self, path, progress=None, threads=0):
        """Write the program at `path` (atomically); `threads` as pt2c_write_options.threads:
        0 = one per usable CPU, 1 = no other thread; the bytes do not depend on it."""
        threads = check_threads(threads)
        cb = PROGRESS_FN(0)
        if progress is not None:
            def _progress(done, total, _payload):
                try:
                    progress(done, total)
                except Exception:  # a broken progress callback must not break the write
                    pass
            cb = PROGRESS_FN(_progress)
        opts = WriteOptions(WRITE_OPTIONS_VERSION, None, cb, None, threads)
        err = _CError.new()
        raise_for(lib.pt2c_program_write(self.h, fs(path), ctypes.byref(opts), ctypes.byref(err)), err)

    def text(self, fn, *args):
        out, n = ctypes.c_void_p(), ctypes.c_size_t()
        rc = fn(self.h, *args, ctypes.byref(out), ctypes.byref(n))
        if rc:
            raise Error(CODE_NAMES.get(rc, "error"), rc)
        return take_string(out, n)

    def summary_json(self):
        return self.text(lib.pt2c_program_summary, 1)

    def printed(self):
        return self.text(lib.pt2c_program_print)

    def lint(self):
        err = _CError.new()
        raise_for(lib.pt2c_program_lint(self.h, ctypes.byref(err)), err)

    def set_target(self, target):
        """Bring the program to a Torch-TensorRT generation ("2.5" ... "2.13", "head")."""
        err = _CError.new()
        raise_for(lib.pt2c_program_set_target(self.h, str(target).encode(), ctypes.byref(err)), err)

    def set_extra_files(self, files):
        """Add or replace extra files: {name: str or bytes (UTF-8 text)}."""
        for name, data in files.items():
            if isinstance(data, str):
                data = data.encode("utf-8")
            data = bytes(data)
            err = _CError.new()
            raise_for(lib.pt2c_program_set_extra_file(self.h, str(name).encode("utf-8"), data, len(data),
                                                      ctypes.byref(err)), err, f"extra file {name!r}: ")

    def extra_files(self):
        out = {}
        for i in range(lib.pt2c_program_extra_file_count(self.h)):
            name, data, n = ctypes.c_char_p(), ctypes.c_void_p(), ctypes.c_size_t()
            if lib.pt2c_program_extra_file(self.h, i, ctypes.byref(name), ctypes.byref(data), ctypes.byref(n)) == 0:
                out[name.value.decode("utf-8", "replace")] = ctypes.string_at(data, n.value) if n.value else b""
        return out

    def resolve_cross(self):
        err = _CError.new()
        raise_for(lib.pt2c_program_resolve_cross(self.h, ctypes.byref(err)), err)

    def engines(self):
        out = []
        for i in range(lib.pt2c_program_engine_count(self.h)):
            info = EngineInfo()
            if lib.pt2c_program_engine_info(self.h, i, ctypes.byref(info)) == 0:
                out.append({"name": (info.name or b"").decode(), "owner": (info.owner or b"").decode(),
                            "abi": info.abi, "device": (info.device or b"").decode(),
                            "platform": (info.platform or b"").decode(), "engine_bytes": info.engine_bytes})
        return out

    def engine_bytes(self, i):
        """Engine i's raw bytes as a bytes object, decoded by the library straight into it (no
        second copy: engines are hundreds of MiB). The GIL is released while it decodes. Only
        reads the program (the loader calls it on several threads at once): the size comes from
        a call with no room, which tells it without allocating or interning anything."""
        if _new_bytes is not None:
            n, err = ctypes.c_size_t(), _CError.new()
            rc = lib.pt2c_program_engine_bytes_into(self.h, i, None, 0, ctypes.byref(n), ctypes.byref(err))
            if rc == 0:
                return b""
            if rc != EINVALID or n.value == 0:  # not "too small": the engine's own error
                raise_for(rc, err)
            size = n.value
            out = _new_bytes(None, size)
            rc = lib.pt2c_program_engine_bytes_into(self.h, i, _bytes_address(out), size, ctypes.byref(n),
                                                    ctypes.byref(err))
            raise_for(rc, err)
            if n.value == size:
                return out
            # (a size that changed between the two calls cannot happen: the plain path below)
        out, n, err = ctypes.c_void_p(), ctypes.c_size_t(), _CError.new()
        raise_for(lib.pt2c_program_engine_bytes(self.h, i, ctypes.byref(out), ctypes.byref(n), ctypes.byref(err)), err)
        try:
            return ctypes.string_at(out, n.value)
        finally:
            lib.pt2c_free(out)

    def engine_record_json(self, i):
        return self.text(lib.pt2c_program_engine_record_json, i)


class Module:
    """A partitioned module handle (pt2c_module *); export() consumes it."""

    def __init__(self, handle, keep=None):
        self.h, self.keep = handle, keep

    @classmethod
    def open(cls, path):
        h, err = ctypes.c_void_p(), _CError.new()
        raise_for(lib.pt2c_module_open(ctypes.byref(h), fs(path), None, ctypes.byref(err)), err)
        return cls(h)

    @classmethod
    def build(cls, json_bytes, sources, n, keep):
        """module.json bytes + a ctypes array of n MemberSource; `keep` holds every Python object
        the sources point into (and the callbacks) for as long as a program made from it lives."""
        h, err = ctypes.c_void_p(), _CError.new()
        raise_for(lib.pt2c_module_build(ctypes.byref(h), json_bytes, len(json_bytes), sources, n, None,
                                        ctypes.byref(err)), err)
        return cls(h, keep)

    def close(self):
        if self.h:
            lib.pt2c_module_free(self.h)
            self.h = None

    __del__ = close

    def export(self, cross_compile=False, target=None):
        """Export (consumes the module) into a Program that keeps this module's `keep` alive."""
        opts = ExportOptions(2, 1 if cross_compile else 0, str(target).encode() if target else None)
        p, err = ctypes.c_void_p(), _CError.new()
        h = self.h
        self.h = None  # consumed on success and on failure
        raise_for(lib.pt2c_export(ctypes.byref(p), ctypes.byref(h), ctypes.byref(opts), ctypes.byref(err)), err)
        prog = Program(p)
        prog.keep = self.keep
        return prog
