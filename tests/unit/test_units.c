/* SPDX-License-Identifier: MIT */
#include "test.h"
#include "units.h"

#define CHECK_UNITS(v, u, s) \
	do { char b_[32]; units_bytes(v, u, b_, sizeof(b_)); CHECK_MEM(b_, strlen(b_), s); } while (0)

int main(void)
{
	CHECK_UNITS(0, UNITS_SI, "0 B");
	CHECK_UNITS(999, UNITS_SI, "999 B");
	CHECK_UNITS(1000, UNITS_SI, "1.0 kB");
	CHECK_UNITS(1023, UNITS_BINARY, "1023 B");
	CHECK_UNITS(1536, UNITS_BINARY, "1.5 KiB");
	CHECK_UNITS(15 * 1024 * 1024, UNITS_BINARY, "15 MiB");
	CHECK_UNITS(10240, UNITS_BINARY, "10 KiB");
	CHECK_UNITS(UINT64_MAX, UNITS_BINARY, "16384 PiB");
	CHECK_UNITS(123456789, UNITS_BYTES, "123456789");
	CHECK_UNITS(UINT64_MAX, UNITS_BYTES, "18446744073709551615");
	/* a buffer too small is cut, never overrun */
	{
		char b[4];

		units_bytes(123456, UNITS_BYTES, b, sizeof(b));
		CHECK_MEM(b, strlen(b), "123");
	}
	TEST_MAIN_END("test_units");
}
