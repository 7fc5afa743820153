/*
 * pt2c.h -- umbrella header. pt2c reads Torch-TensorRT partitioned modules and PyTorch 2.11
 * .pt2 archives, exports the former into the latter, and inspects, verifies and rewrites archives.
 */
#ifndef PT2C_H
#define PT2C_H

#include "pt2c/common.h"
#include "pt2c/module.h"
#include "pt2c/program.h"
#include "pt2c/export.h"

#endif
