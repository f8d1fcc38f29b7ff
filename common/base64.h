/* SPDX-License-Identifier: MIT */
/*
 * base64url without padding (RFC 4648 §5), as ACME (RFC 8555 §6.1) and our
 * credential hashes use it. Strict decoding: no padding, no whitespace, no
 * characters outside the alphabet, no non-zero trailing bits.
 */
#ifndef AD_BASE64_H
#define AD_BASE64_H

#include <stddef.h>
#include <stdint.h>

/* Bytes encode() writes for n input bytes, plus the NUL. */
#define AD_B64URL_LEN(n) (((n) * 4 + 2) / 3 + 1)

/* Encode n bytes; out must hold AD_B64URL_LEN(n). Returns the length
 * (without the NUL). */
size_t ad_b64url_encode(const uint8_t *in, size_t n, char *out);

/* Decode n characters into out (cap bytes). Returns the decoded length,
 * AD_EMALF on bad input or AD_ESPACE when out is too small. */
int ad_b64url_decode(const char *in, size_t n, uint8_t *out, size_t cap);

#endif
