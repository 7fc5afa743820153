/*
 * pickle.h -- the part of Python's pickle protocol (2 to 5 opcodes) that PyTorch archives use:
 * torch.save state dicts (2.8-era data/weights/model.pt, legacy serialized_*.pt), TorchScript
 * custom objects (data/constants/custom_obj_N holding a tensorrt.Engine), and the writer for the
 * latter.
 *
 * The reader is a bounded stack machine over untrusted bytes: no recursion, a cap on stack depth,
 * memo size and object count, every length checked against the remaining input. It builds a small
 * object tree in an arena; strings and bytes are views into the input.
 */
#ifndef PT2C_PICKLE_H
#define PT2C_PICKLE_H

#include "util/util.h"
#include "serde/zip.h"
#include "ir/ir.h"

enum {
	PT2C_PY_NONE = 0, PT2C_PY_BOOL, PT2C_PY_INT, PT2C_PY_FLOAT, PT2C_PY_STR, PT2C_PY_BYTES,
	PT2C_PY_TUPLE, PT2C_PY_LIST, PT2C_PY_DICT, PT2C_PY_GLOBAL, /* module + name in s/s2 */
	PT2C_PY_REDUCE,  /* items[0] = callable, items[1] = args tuple */
	PT2C_PY_BUILD,   /* items[0] = object, items[1] = state */
	PT2C_PY_NEWOBJ,  /* items[0] = class, items[1] = args */
	PT2C_PY_PERSID,  /* items[0] = persistent id object */
};

typedef struct pt2c_py pt2c_py;
struct pt2c_py {
	uint8_t type;
	uint32_t n;        /* str/bytes length; item count (dict: 2n items, key/value alternating) */
	int64_t i;
	double f;
	const char *s, *s2; /* str/bytes view; GLOBAL module and name (NUL-terminated, arena) */
	                    /* str/bytes: i = the full 64-bit length (n saturates at UINT32_MAX) */
	pt2c_py **items;
	uint64_t pos;       /* offset of the opcode that made it */
};

/**
 * Parse a pickle; *out is the object left by STOP (bytes after STOP are ignored). Objects live in
 * `arena`; views point into data. Nothing is called: GLOBAL/REDUCE/BUILD/NEWOBJ/BINPERSID become
 * nodes, except that SETITEM(S) on a collections.OrderedDict() REDUCE turns that node into a DICT.
 * Memoized objects are shared (the same pointer), and lists/dicts mutated after BINPUT show it.
 * Errors: PT2C_ECORRUPT / PT2C_EUNSUPPORTED with the opcode's offset and name in the message.
 */
int pt2c__pickle_parse(pt2c_py **out, const uint8_t *data, size_t len, pt2c_arena *arena, pt2c_error *err);

/**
 * The member "<root>/<name>" of a PyTorchStreamWriter zip, where root is the first entry's folder
 * (as PyTorch's reader decides it). NULL if absent or if the first entry has no folder.
 */
const pt2c_zip_entry *pt2c__zip_find_in_root(const pt2c_zip *z, const char *name);

/**
 * Parse the "<root>/data.pkl" member of a PyTorchStreamWriter zip (already parsed into z) into
 * *out (objects in arena). PT2C_ECORRUPT naming the member if it is missing or malformed.
 */
int pt2c__pickle_parse_data_pkl(pt2c_py **out, const pt2c_zip *z, pt2c_arena *arena, pt2c_error *err);
/** o is GLOBAL module.name. */
bool pt2c__py_is_global(const pt2c_py *o, const char *module, const char *name);

/**
 * Read a `torch._C._pickle_save(tensorrt.Engine)` blob (a nested zip with archive/data.pkl) into
 * an engine record. The engine field stays base64 (record->engine_b64 = true) as a view of the
 * blob: `backing` is the storage that owns `data` and gets referenced. PT2C_EUNSUPPORTED for other
 * classes (the caller keeps those opaque).
 */
int pt2c__engine_obj_read(pt2c_engine_record **out, pt2c_ctx *ctx, const uint8_t *data, size_t len,
                          pt2c_storage *backing, pt2c_error *err);
/**
 * The engine record of a pickled string list (`list`: LIST or TUPLE of STR; with allow_bytes the
 * engine field may be BYTES, raw when it starts with "ftrt"). Field texts and the engine are views
 * of the pickle input; the engine storage references `backing`. Validated; errors name the
 * offset of the offending object.
 */
int pt2c__engine_record_from_py(pt2c_engine_record **out, pt2c_ctx *ctx, const pt2c_py *list, bool allow_bytes,
                                pt2c_storage *backing, pt2c_error *err);

/*
 * Torch-TensorRT 2.13+ engine constants: `data/constants/opaque_obj_<n>` holds
 * pickle.dumps(EngineSerializer, protocol) (PyTorch pt2_archive/_package.py _package_constants),
 * i.e. REDUCE(GLOBAL torch_tensorrt.dynamo.runtime._TRTEngine._reconstruct_trt_engine,
 * (list of the record's strings, engine in base64,)). docs/generations.md has the byte layout.
 */
#define PT2C_OPAQUE_ENGINE_MODULE "torch_tensorrt.dynamo.runtime._TRTEngine"
#define PT2C_OPAQUE_ENGINE_FUNC "_reconstruct_trt_engine"
/**
 * Read an opaque engine pickle (any protocol 2..5 the pickle reader knows): exactly the global
 * above called with one list. The engine stays base64 (a view, referencing `backing`).
 * PT2C_EUNSUPPORTED for a pickle of anything else (the caller keeps it as an opaque blob),
 * PT2C_ECORRUPT for a malformed one; the offset is the pickle's.
 */
int pt2c__engine_opaque_read(pt2c_engine_record **out, pt2c_ctx *ctx, const uint8_t *data, size_t len,
                             pt2c_storage *backing, pt2c_error *err);
/**
 * Write the pickle Python's pickle.dumps(EngineSerializer(record), protocol=2) gives with the
 * C++ runtime's strings (docs/generations.md): PROTO 2, GLOBAL, EMPTY_LIST, MARK, BINUNICODE
 * per field (a field of length 0 or 1 equal to an earlier one is a BINGET of it, as CPython's
 * single-character string cache makes them one object), APPENDS, TUPLE1, REDUCE, STOP, each
 * object memoized with BINPUT. Engine bytes are base64-encoded while streaming.
 * PT2C_EUNSUPPORTED when a field is 4 GiB or more (protocol 2 cannot hold it).
 */
int pt2c__engine_opaque_write(const pt2c_engine_record *r, pt2c_sink sink);
/** Exact byte size of pt2c__engine_opaque_write's output (0 if it would fail). */
uint64_t pt2c__engine_opaque_size(const pt2c_engine_record *r);

/** The class named by a _pickle_save blob ("__torch__.torch.classes.tensorrt.Engine"), interned. */
int pt2c__custom_obj_class(const char **out, pt2c_ctx *ctx, const uint8_t *data, size_t len, pt2c_error *err);

/**
 * Write the `_pickle_save` form of an engine object as PyTorch does, byte for byte: a nested zip
 * (archive/data.pkl, archive/version "3\n", archive/byteorder, archive/.data/serialization_id)
 * whose pickle is GLOBAL '__torch__.torch.classes.tensorrt Engine', NEWOBJ, restore_type_tag(list
 * of the record's strings with the engine in base64, 'List[str]'), BUILD. Engine bytes are
 * base64-encoded while streaming; nothing engine-sized is allocated.
 * pt2c__engine_obj_size gives the exact byte size of that blob (for the outer member header).
 */
int pt2c__engine_obj_write(const pt2c_engine_record *r, pt2c_sink sink, const pt2c_allocator *alloc);
/** *out = the size of that blob: 0, PT2C_ENOMEM (the dry run's central directory, from alloc). */
int pt2c__engine_obj_size(const pt2c_engine_record *r, const pt2c_allocator *alloc, uint64_t *out);

/**
 * An engine constant cut for the parallel writer: its bytes are head ++ T ++ mid ++ tail, where T
 * is the engine field's text (the base64 of src[0..src_n) when encode, else src itself; absent
 * when src_n is 0) and tail (engine objects only: the nested zip after data.pkl) depends on the
 * CRC-32 of data.pkl = head[pkl_off..] ++ T ++ mid, and is made by pt2c__engine_obj_tail once that
 * CRC is known. head and mid are small (the record's other fields); they are owned by the split
 * (pt2c__engine_split_free).
 */
typedef struct pt2c_engine_split {
	pt2c_buf head, mid;
	size_t pkl_off;        /* engine objects: where data.pkl's bytes start in head (after its local header) */
	const uint8_t *src;    /* borrowed from the record's engine storage */
	uint64_t src_n;
	bool encode;
	uint64_t text_n;       /* bytes of T */
	uint64_t pkl_size;     /* engine objects: bytes of data.pkl */
	uint64_t tail_n;       /* engine objects: bytes of the tail */
} pt2c_engine_split;

/** Split the output of pt2c__engine_obj_write (same bytes in the end). PT2C_ENOMEM. */
int pt2c__engine_obj_split(const pt2c_engine_record *r, pt2c_engine_split *s, const pt2c_allocator *alloc);
/** The tail of an engine object whose data.pkl has CRC-32 pkl_crc, appended to out (tail_n bytes). */
int pt2c__engine_obj_tail(const pt2c_engine_record *r, uint64_t pkl_size, uint32_t pkl_crc, pt2c_buf *out,
                          const pt2c_allocator *alloc);
/** Split the output of pt2c__engine_opaque_write (no tail). PT2C_ENOMEM, PT2C_EUNSUPPORTED. */
int pt2c__engine_opaque_split(const pt2c_engine_record *r, pt2c_engine_split *s, const pt2c_allocator *alloc);
void pt2c__engine_split_free(pt2c_engine_split *s);

/**
 * torch.save state dict (dict name -> tensor/Parameter) from a torch.save zip: fills `m` with
 * attributes of kind `attr_kind` whose storages view the zip's data/N members (referencing
 * `backing`). Used for 2.8-era weights and legacy archives.
 */
int pt2c__torch_save_read_state_dict(pt2c_module *m, int attr_kind, const uint8_t *data, size_t len,
                                     pt2c_storage *backing, pt2c_error *err);

#endif
