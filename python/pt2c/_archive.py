"""The partitioned-module archive (docs/partitioned-format.md) written from Python without torch:
format, version, module.json, then each weight storage and engine streamed into its member in
CHUNK pieces (a non-CPU storage copied to the host one piece at a time). For users who want the
intermediate file (to export elsewhere with the `pt2c` command); pt2c.save needs none.
"""
import os
import struct
import tempfile
import zipfile

ROOT = "partitioned/"
CHUNK = 16 << 20
ALIGN = 64


def chunks(buf, size=CHUNK):
    """Zero-copy slices of a bytes-like object, as unsigned bytes."""
    mv = memoryview(buf)
    if mv.ndim != 1 or mv.format != "B":
        mv = mv.cast("B")
    for i in range(0, len(mv), size):
        yield mv[i:i + size]


def storage_chunks(storage, size=CHUNK):
    """The bytes of a torch untyped storage in pieces: CPU zero-copy, others copied per piece."""
    import torch
    n = storage.nbytes()
    if n == 0:
        return
    u8 = torch.empty(0, dtype=torch.uint8, device=storage.device).set_(storage, 0, (n,), (1,))
    if u8.device.type == "cpu":
        yield from chunks(u8.numpy(), size)
        return
    for i in range(0, n, size):
        yield u8[i:i + size].cpu().numpy()


def _add(zf, name, pieces):
    """One stored member under ROOT, its data on an ALIGN boundary (PyTorch's "FB" padding extra
    field), its sizes in a ZIP64 extra so that it may exceed 4 GiB."""
    zi = zipfile.ZipInfo(ROOT + name, date_time=(1980, 1, 1, 0, 0, 0))
    zi.compress_type = zipfile.ZIP_STORED
    # local header: 30 + name + our extra (4 + pad) + the 20-byte zip64 extra zipfile appends
    pad = -(zf.start_dir + 30 + len(zi.filename.encode("utf-8")) + 4 + 20) % ALIGN
    zi.extra = struct.pack("<HH", 0x4246, pad) + b"Z" * pad
    with zf.open(zi, "w", force_zip64=True) as f:
        for piece in pieces:
            f.write(piece)


def _counted(pieces, nbytes, name):
    n = 0
    for piece in pieces:
        n += len(piece)
        yield piece
    if n != nbytes:
        raise ValueError(f"{name}: wrote {n} bytes, expected {nbytes}")


def write_archive(path, module_json, weights, engines):
    """Write the archive atomically (a temporary file in the same folder, renamed over `path`
    once complete). weights: (name, nbytes, callable -> iterable of chunks); engines: (name,
    bytes-like)."""
    path = os.path.abspath(os.fspath(path))
    fd, tmp = tempfile.mkstemp(prefix=".pt2c-", suffix=".tmp", dir=os.path.dirname(path))
    try:
        umask = os.umask(0)
        os.umask(umask)
        os.chmod(tmp, 0o666 & ~umask)  # mkstemp makes 0600; give the usual mode
        with os.fdopen(fd, "w+b") as f, zipfile.ZipFile(f, "w", allowZip64=True) as zf:
            _add(zf, "format", [b"pt2c-partitioned"])
            _add(zf, "version", [b"1"])
            _add(zf, "module.json", [module_json])
            for name, nbytes, source in weights:
                _add(zf, name, _counted(source(), nbytes, name))
            for name, data in engines:
                _add(zf, name, chunks(data))
        os.replace(tmp, path)
    except BaseException:
        if os.path.exists(tmp):
            os.unlink(tmp)
        raise
