/* SPDX-License-Identifier: MIT */
#ifndef SNITCH_SELF_H
#define SNITCH_SELF_H

#include <limits.h>

/*
 * This executable's path and the directory it is in, from /proc/self/exe:
 * where a tool finds the tools installed beside it. 0, or -1 once said
 * on standard error.
 */
int self_exe(char path[PATH_MAX], char dir[PATH_MAX]);

#endif
