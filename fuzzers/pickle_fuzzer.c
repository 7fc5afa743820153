/*
 * Fuzz target for the pickle layer: the bytes are parsed as a bare pickle, and when they look like
 * a zip, also as a tensorrt.Engine custom object blob and as a torch.save state dict; otherwise
 * also as a Torch-TensorRT 2.13+ opaque engine object (EngineSerializer pickle), which must write
 * back at its announced size and read back as the same record.
 */
#include <stdint.h>
#include <string.h>

#include "serde/pickle.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	pt2c_arena arena;
	pt2c__arena_init(&arena, NULL);
	pt2c_py *o = NULL;
	pt2c_error err = PT2C_ERROR_INIT;
	(void)pt2c__pickle_parse(&o, data, size, &arena, &err);
	pt2c__arena_free(&arena);

	if (size < 4 || memcmp(data, "PK\x03\x04", 4) != 0) {
		pt2c_ctx *octx = NULL;
		if (pt2c__ctx_new(&octx, NULL))
			return 0;
		pt2c_engine_record *or = NULL;
		if (pt2c__engine_opaque_read(&or, octx, data, size, NULL, &err) == 0 && or) {
			pt2c_buf b;
			pt2c__buf_init(&b, NULL);
			uint64_t want = pt2c__engine_opaque_size(or);
			if (want && pt2c__engine_opaque_write(or, pt2c__sink_buf(&b)) == 0) {
				if (b.err || b.len != want)
					__builtin_trap();
				pt2c_engine_record *again = NULL;
				if (pt2c__engine_opaque_read(&again, octx, (const uint8_t *)b.data, b.len, NULL, &err) != 0 ||
				    again->n_fields != or->n_fields || again->abi != or->abi)
					__builtin_trap();
				pt2c__storage_unref(again->engine);
			}
			pt2c__buf_free(&b);
			pt2c__storage_unref(or->engine);
		}
		pt2c__ctx_unref(octx);
		return 0;
	}
	pt2c_ctx *ctx = NULL;
	if (pt2c__ctx_new(&ctx, NULL))
		return 0;
	const char *cls = NULL;
	(void)pt2c__custom_obj_class(&cls, ctx, data, size, &err);
	pt2c_engine_record *r = NULL;
	if (pt2c__engine_obj_read(&r, ctx, data, size, NULL, &err) == 0 && r) {
		/* what was read must write back, at the size announced */
		uint64_t n = 0, sz = 0;
		if (pt2c__engine_obj_write(r, pt2c__sink_count(&n), NULL) == 0 &&
		    (pt2c__engine_obj_size(r, NULL, &sz) != 0 || n != sz))
			__builtin_trap();
		pt2c__storage_unref(r->engine);
	}
	pt2c_module *m = NULL;
	if (pt2c__module_new(ctx, &m) == 0) {
		(void)pt2c__torch_save_read_state_dict(m, PT2C_ATTR_BUFFER, data, size, NULL, &err);
		pt2c__module_free(m);
	}
	pt2c__ctx_unref(ctx);
	return 0;
}
