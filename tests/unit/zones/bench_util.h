/* SPDX-License-Identifier: MIT */
/*
 * Shared by the zones benchmarks (bench_answer.c, bench_mem.c): a
 * deterministic workload generator (splitmix64, UUID-shaped names,
 * 43-character TXT tokens), a monotonic clock and a fatal error check.
 * Header-only: each benchmark is one translation unit.
 */
#ifndef BENCH_UTIL_H
#define BENCH_UTIL_H

#include "common/errors.h"

#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <time.h>

#define APEX "auth.example.test"

static uint64_t rng_state = 0x9E3779B97F4A7C15ULL;

/* splitmix64: deterministic, good enough for a workload */
static uint64_t
rnd(void)
{
	uint64_t z = (rng_state += 0x9E3779B97F4A7C15ULL);
	z = (z ^ (z >> 30)) * 0xBF58476D1CE4E5B9ULL;
	z = (z ^ (z >> 27)) * 0x94D049BB133111EBULL;
	return z ^ (z >> 31);
}

static void
uuid(char *out)
{
	static const char hx[] = "0123456789abcdef";
	uint64_t a = rnd(), b = rnd();
	int k = 0;
	for (int i = 0; i < 32; i++) {
		if (i == 8 || i == 12 || i == 16 || i == 20)
			out[k++] = '-';
		uint64_t w = i < 16 ? a : b;
		out[k++] = hx[(w >> ((i % 16) * 4)) & 15];
	}
	out[k] = '\0';
}

static void
token(char *out)
{
	static const char b64[] =
	    "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrs"
	    "tuvwxyz0123456789-_";
	for (int i = 0; i < 43; i++)
		out[i] = b64[rnd() % 64];
	out[43] = '\0';
}

static double
now_s(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

static void
check(int r, const char *what)
{
	if (r) {
		fprintf(stderr, "bench: %s: %s\n", what, ad_strerror(r));
		exit(1);
	}
}

#endif
