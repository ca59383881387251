/* SPDX-License-Identifier: MIT */
/* The combo of a full rollup row's key (rollup.h). */
#include "rollup.h"

/*
 * A 64-bit finaliser (the constants of splitmix64's): each bit of x moves
 * about half of the result's, so keys that differ in one low bit of one
 * id do not land next to each other.
 */
static uint64_t mix(uint64_t x)
{
	x ^= x >> 30;
	x *= UINT64_C(0xbf58476d1ce4e5b9);
	x ^= x >> 27;
	x *= UINT64_C(0x94d049bb133111eb);
	return x ^ (x >> 31);
}

/* FNV-1a of a text, its length folded in */
static uint64_t text_hash(const char *s, size_t n)
{
	uint64_t h = UINT64_C(0xcbf29ce484222325) ^ n;

	for (size_t i = 0; i < n; i++) {
		h ^= (unsigned char)s[i];
		h *= UINT64_C(0x100000001b3);
	}
	return h;
}

uint64_t rollup_combo(const struct rollup_key *k)
{
	uint64_t h = 0;

	for (int i = 0; i < ROLLUP_COMBO_NUMS; i++)
		h = mix(h ^ (uint64_t)k->num[i]);
	h = mix(h ^ text_hash(k->proto ? k->proto : "", k->proto ? k->proto_len : 0));
	/* a text outcome and a number may hash alike: the writer probes on */
	return mix(h ^ (k->outcome_text ? text_hash(k->outcome_text, k->outcome_len)
				       : (uint64_t)k->outcome_num));
}
