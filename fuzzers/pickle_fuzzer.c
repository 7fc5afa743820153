/*
 * Fuzz target for the pickle layer: the bytes are parsed as a bare pickle, and when they look like
 * a zip, also as a tensorrt.Engine custom object blob and as a torch.save state dict.
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

	if (size < 4 || memcmp(data, "PK\x03\x04", 4) != 0)
		return 0;
	pt2c_ctx *ctx = NULL;
	if (pt2c__ctx_new(&ctx, NULL))
		return 0;
	const char *cls = NULL;
	(void)pt2c__custom_obj_class(&cls, ctx, data, size, &err);
	pt2c_engine_record *r = NULL;
	if (pt2c__engine_obj_read(&r, ctx, data, size, NULL, &err) == 0 && r) {
		/* what was read must write back, at the size announced */
		uint64_t n = 0;
		if (pt2c__engine_obj_write(r, pt2c__sink_count(&n), NULL) == 0 && n != pt2c__engine_obj_size(r))
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
