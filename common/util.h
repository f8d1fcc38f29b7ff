/* SPDX-License-Identifier: MIT */
/*
 * Small helpers glibc 2.36 lacks or that we want with fixed semantics:
 * strlcpy, constant-time comparison, a keyed hash for tables whose keys an
 * attacker can influence, and the injectable clock.
 */
#ifndef AD_UTIL_H
#define AD_UTIL_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#define AD_ARRAY_SIZE(a) (sizeof(a) / sizeof((a)[0]))
#define AD_MIN(a, b) ((a) < (b) ? (a) : (b))
#define AD_MAX(a, b) ((a) > (b) ? (a) : (b))

/* BSD strlcpy: copies at most size-1 bytes, always NUL-terminates when
 * size > 0, returns strlen(src) so truncation is (ret >= size). */
size_t ad_strlcpy(char *dst, const char *src, size_t size);

/* Compare n bytes in time independent of their content. true if equal. */
bool ad_ct_equal(const void *a, const void *b, size_t n);

/* SipHash-2-4 of data under a 128-bit key. */
uint64_t ad_siphash(const uint8_t key[16], const void *data, size_t len);

/* Fill buf with len bytes from the OpenSSL CSPRNG: 0 or AD_ECRYPTO. */
int ad_random(void *buf, size_t len);

/*
 * Clock. Everything that needs "now" takes it as a parameter or calls
 * ad_now(), which a test can replace with ad_clock_set().
 */
typedef uint64_t (*ad_clock_fn)(void);
/* Milliseconds since the Unix epoch (CLOCK_REALTIME unless overridden). */
uint64_t ad_now_ms(void);
/* Monotonic milliseconds (CLOCK_MONOTONIC unless overridden). */
uint64_t ad_mono_ms(void);
/* Override both clocks (NULL restores the real ones). For tests. */
void ad_clock_set(ad_clock_fn realtime_ms, ad_clock_fn mono_ms);

#endif
