/*
 * common.c -- the library version from pt2c/common.h (the error helpers, used by every layer,
 * live in src/util/error.c).
 */
#include <stdio.h>

#include "pt2c/common.h"

const char *pt2c_version(void)
{
	return PT2C_VERSION_STRING;
}
