/* SPDX-License-Identifier: MIT */
/* A minimal unit-test harness: CHECK() records a failure and goes on. */
#ifndef SNITCH_TEST_H
#define SNITCH_TEST_H

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static int test_failures;
static int test_checks;

#define CHECK(cond)                                                        \
	do {                                                               \
		test_checks++;                                             \
		if (!(cond)) {                                             \
			test_failures++;                                   \
			fprintf(stderr, "%s:%d: check failed: %s\n",       \
				__FILE__, __LINE__, #cond);                \
		}                                                          \
	} while (0)

#define CHECK_EQ_INT(a, b)                                                 \
	do {                                                               \
		long long a_ = (long long)(a), b_ = (long long)(b);        \
		test_checks++;                                             \
		if (a_ != b_) {                                            \
			test_failures++;                                   \
			fprintf(stderr, "%s:%d: %s == %lld, expected %lld\n", \
				__FILE__, __LINE__, #a, a_, b_);           \
		}                                                          \
	} while (0)

#define CHECK_MEM(p, n, s)                                                 \
	do {                                                               \
		size_t n_ = (n), sl_ = strlen(s);                          \
		test_checks++;                                             \
		if (n_ != sl_ || memcmp((p), (s), n_) != 0) {              \
			test_failures++;                                   \
			fprintf(stderr, "%s:%d: got '%.*s' (%zu bytes), expected '%s'\n", \
				__FILE__, __LINE__, (int)n_, (const char *)(p), n_, s); \
		}                                                          \
	} while (0)

#define TEST_MAIN_END(name)                                                \
	do {                                                               \
		printf("%s: %d checks, %d failed\n", name, test_checks,    \
		       test_failures);                                     \
		return test_failures ? 1 : 0;                              \
	} while (0)

#endif
