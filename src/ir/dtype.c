/* dtype.c -- PT2 schema dtype codes: sizes and the names torch prints. */
#include "ir/ir.h"

typedef struct dtype_info {
	const char *name;  /* torch.<name> */
	const char *short_name; /* ExportedProgram printer form */
	uint8_t size;
} dtype_info;

static const dtype_info DTYPES[PT2C_DTYPE_COUNT] = {
	[PT2C_DTYPE_UINT8] = { "uint8", "u8", 1 },
	[PT2C_DTYPE_INT8] = { "int8", "i8", 1 },
	[PT2C_DTYPE_INT16] = { "int16", "i16", 2 },
	[PT2C_DTYPE_INT32] = { "int32", "i32", 4 },
	[PT2C_DTYPE_INT64] = { "int64", "i64", 8 },
	[PT2C_DTYPE_FLOAT16] = { "float16", "f16", 2 },
	[PT2C_DTYPE_FLOAT32] = { "float32", "f32", 4 },
	[PT2C_DTYPE_FLOAT64] = { "float64", "f64", 8 },
	[PT2C_DTYPE_COMPLEX32] = { "complex32", "c32", 4 },
	[PT2C_DTYPE_COMPLEX64] = { "complex64", "c64", 8 },
	[PT2C_DTYPE_COMPLEX128] = { "complex128", "c128", 16 },
	[PT2C_DTYPE_BOOL] = { "bool", "b8", 1 },
	[PT2C_DTYPE_BFLOAT16] = { "bfloat16", "bf16", 2 },
	[PT2C_DTYPE_UINT16] = { "uint16", "u16", 2 },
	[PT2C_DTYPE_FLOAT8_E4M3FN] = { "float8_e4m3fn", "f8e4m3fn", 1 },
	[PT2C_DTYPE_FLOAT8_E5M2] = { "float8_e5m2", "f8e5m2", 1 },
	[PT2C_DTYPE_FLOAT8_E4M3FNUZ] = { "float8_e4m3fnuz", "f8e4m3fnuz", 1 },
	[PT2C_DTYPE_FLOAT8_E5M2FNUZ] = { "float8_e5m2fnuz", "f8e5m2fnuz", 1 },
};
_Static_assert(PT2C_ARRAY_LEN(DTYPES) == PT2C_DTYPE_COUNT, "dtype table size");
_Static_assert(PT2C_DTYPE_FLOAT8_E5M2FNUZ + 1 == PT2C_DTYPE_COUNT, "last dtype code");

/* torch's alias spellings (torch.float is torch.float32, ...). */
static const struct { const char *alias; int dtype; } ALIASES[] = {
	{ "float", PT2C_DTYPE_FLOAT32 },   { "half", PT2C_DTYPE_FLOAT16 },    { "double", PT2C_DTYPE_FLOAT64 },
	{ "long", PT2C_DTYPE_INT64 },      { "int", PT2C_DTYPE_INT32 },       { "short", PT2C_DTYPE_INT16 },
	{ "cfloat", PT2C_DTYPE_COMPLEX64 }, { "cdouble", PT2C_DTYPE_COMPLEX128 }, { "chalf", PT2C_DTYPE_COMPLEX32 },
};

bool pt2c__dtype_valid(int64_t code)
{
	return code > 0 && code < PT2C_DTYPE_COUNT && DTYPES[code].name != NULL;
}

size_t pt2c__dtype_size(int dtype)
{
	return pt2c__dtype_valid(dtype) ? DTYPES[dtype].size : 0;
}

const char *pt2c__dtype_name(int dtype)
{
	return pt2c__dtype_valid(dtype) ? DTYPES[dtype].name : "unknown";
}

const char *pt2c__dtype_short(int dtype)
{
	return pt2c__dtype_valid(dtype) ? DTYPES[dtype].short_name : "unknown";
}

int pt2c__dtype_from_name(const char *s, size_t n)
{
	if (!s)
		return -1;
	if (n > 6 && memcmp(s, "torch.", 6) == 0) {
		s += 6;
		n -= 6;
	}
	for (int i = 1; i < PT2C_DTYPE_COUNT; i++) {
		const char *name = DTYPES[i].name;
		if (name && strlen(name) == n && memcmp(name, s, n) == 0)
			return i;
	}
	for (size_t i = 0; i < PT2C_ARRAY_LEN(ALIASES); i++)
		if (strlen(ALIASES[i].alias) == n && memcmp(ALIASES[i].alias, s, n) == 0)
			return ALIASES[i].dtype;
	return -1;
}
