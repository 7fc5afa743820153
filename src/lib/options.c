/*
 * options.c -- the *_options_init() functions and the version check every options struct goes
 * through. A struct of version N has the fields of versions 1..N; versions 1..current are
 * accepted (read a field added in version K only when opts->version >= K).
 */
#include "lib/lib.h"
#include "pt2c.h"

int pt2c__options_version(const char *type, unsigned int version, unsigned int current, pt2c_error *err)
{
	if (version >= 1 && version <= current)
		return 0;
	return pt2c__err(err, PT2C_EINVALID, "%s version %u is not supported (1 to %u; set it with %s_init())", type, version,
	                 current, type);
}

void pt2c_read_options_init(pt2c_read_options *o)
{
	if (o) {
		pt2c_read_options d = PT2C_READ_OPTIONS_INIT;
		*o = d;
	}
}

void pt2c_write_options_init(pt2c_write_options *o)
{
	if (o) {
		pt2c_write_options d = PT2C_WRITE_OPTIONS_INIT;
		*o = d;
	}
}

void pt2c_export_options_init(pt2c_export_options *o)
{
	if (o) {
		pt2c_export_options d = PT2C_EXPORT_OPTIONS_INIT;
		*o = d;
	}
}
