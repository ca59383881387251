/* SPDX-License-Identifier: MIT */
#ifndef SNITCH_CLOCK_H
#define SNITCH_CLOCK_H

#include <stdint.h>
#include <time.h>

/* Nanoseconds since the Unix epoch: the time base of every record. */
static inline uint64_t clock_real_ns(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_REALTIME, &ts);
	return (uint64_t)ts.tv_sec * 1000000000ULL + (uint64_t)ts.tv_nsec;
}

/* Monotonic nanoseconds, for timeouts and intervals. */
static inline uint64_t clock_mono_ns(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000000000ULL + (uint64_t)ts.tv_nsec;
}

#endif
