/* SPDX-License-Identifier: MIT */
/*
 * Unit tests of common/util.c and common/errors.c: SipHash-2-4 against the
 * reference vectors of Aumasson and Bernstein (key 00..0f, message
 * 00..len-1, len 0..63), constant-time comparison, strlcpy semantics, the
 * injectable clock and the error texts.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include <cmocka.h>

#include "common/errors.h"
#include "common/util.h"

/* vectors_sip64[] of the reference implementation, read little-endian */
static const uint64_t sip64[64] = {
    0x726fdb47dd0e0e31ULL, 0x74f839c593dc67fdULL, 0x0d6c8009d9a94f5aULL,
    0x85676696d7fb7e2dULL, 0xcf2794e0277187b7ULL, 0x18765564cd99a68dULL,
    0xcbc9466e58fee3ceULL, 0xab0200f58b01d137ULL, 0x93f5f5799a932462ULL,
    0x9e0082df0ba9e4b0ULL, 0x7a5dbbc594ddb9f3ULL, 0xf4b32f46226bada7ULL,
    0x751e8fbc860ee5fbULL, 0x14ea5627c0843d90ULL, 0xf723ca908e7af2eeULL,
    0xa129ca6149be45e5ULL, 0x3f2acc7f57c29bdbULL, 0x699ae9f52cbe4794ULL,
    0x4bc1b3f0968dd39cULL, 0xbb6dc91da77961bdULL, 0xbed65cf21aa2ee98ULL,
    0xd0f2cbb02e3b67c7ULL, 0x93536795e3a33e88ULL, 0xa80c038ccd5ccec8ULL,
    0xb8ad50c6f649af94ULL, 0xbce192de8a85b8eaULL, 0x17d835b85bbb15f3ULL,
    0x2f2e6163076bcfadULL, 0xde4daaaca71dc9a5ULL, 0xa6a2506687956571ULL,
    0xad87a3535c49ef28ULL, 0x32d892fad841c342ULL, 0x7127512f72f27cceULL,
    0xa7f32346f95978e3ULL, 0x12e0b01abb051238ULL, 0x15e034d40fa197aeULL,
    0x314dffbe0815a3b4ULL, 0x027990f029623981ULL, 0xcadcd4e59ef40c4dULL,
    0x9abfd8766a33735cULL, 0x0e3ea96b5304a7d0ULL, 0xad0c42d6fc585992ULL,
    0x187306c89bc215a9ULL, 0xd4a60abcf3792b95ULL, 0xf935451de4f21df2ULL,
    0xa9538f0419755787ULL, 0xdb9acddff56ca510ULL, 0xd06c98cd5c0975ebULL,
    0xe612a3cb9ecba951ULL, 0xc766e62cfcadaf96ULL, 0xee64435a9752fe72ULL,
    0xa192d576b245165aULL, 0x0a8787bf8ecb74b2ULL, 0x81b3e73d20b49b6fULL,
    0x7fa8220ba3b2eceaULL, 0x245731c13ca42499ULL, 0xb78dbfaf3a8d83bdULL,
    0xea1ad565322a1a0bULL, 0x60e61c23a3795013ULL, 0x6606d7e446282b93ULL,
    0x6ca4ecb15c5f91e1ULL, 0x9f626da15c9625f3ULL, 0xe51b38608ef25f57ULL,
    0x958a324ceb064572ULL,
};

static void
test_siphash_vectors(void **state)
{
	uint8_t key[16], msg[64];
	(void)state;
	for (unsigned i = 0; i < 16; i++)
		key[i] = (uint8_t)i;
	for (unsigned i = 0; i < 64; i++)
		msg[i] = (uint8_t)i;
	for (size_t len = 0; len < 64; len++) {
		uint64_t h = ad_siphash(key, msg, len);
		if (h != sip64[len])
			fail_msg("len %zu: got %016llx want %016llx", len,
				 (unsigned long long)h,
				 (unsigned long long)sip64[len]);
	}
}

static void
test_siphash_key_matters(void **state)
{
	uint8_t k1[16] = {0}, k2[16] = {0};
	(void)state;
	k2[15] = 1;
	assert_int_not_equal(ad_siphash(k1, "abc", 3),
			     ad_siphash(k2, "abc", 3));
	/* NULL data is fine for an empty message */
	assert_int_equal(ad_siphash(k1, NULL, 0), ad_siphash(k1, "", 0));
}

static void
test_ct_equal(void **state)
{
	uint8_t a[64], b[64];
	(void)state;
	for (unsigned i = 0; i < sizeof(a); i++)
		a[i] = b[i] = (uint8_t)(i * 7);
	assert_true(ad_ct_equal(a, b, sizeof(a)));
	assert_true(ad_ct_equal(a, b, 0));
	assert_true(ad_ct_equal(NULL, NULL, 0));
	for (unsigned i = 0; i < sizeof(a); i++) {
		for (unsigned bit = 0; bit < 8; bit++) {
			b[i] ^= (uint8_t)(1u << bit);
			assert_false(ad_ct_equal(a, b, sizeof(a)));
			/* a difference past n does not count */
			assert_true(ad_ct_equal(a, b, i));
			b[i] ^= (uint8_t)(1u << bit);
		}
	}
}

static void
test_strlcpy(void **state)
{
	char buf[8];
	(void)state;

	memset(buf, 'x', sizeof(buf));
	assert_int_equal(ad_strlcpy(buf, "abc", sizeof(buf)), 3);
	assert_string_equal(buf, "abc");

	/* exactly fits: 7 characters + NUL */
	assert_int_equal(ad_strlcpy(buf, "1234567", sizeof(buf)), 7);
	assert_string_equal(buf, "1234567");

	/* truncation: ret >= size, always terminated */
	memset(buf, 'x', sizeof(buf));
	assert_int_equal(ad_strlcpy(buf, "123456789abc", sizeof(buf)), 12);
	assert_string_equal(buf, "1234567");

	/* size 1: only the terminator */
	memset(buf, 'x', sizeof(buf));
	assert_int_equal(ad_strlcpy(buf, "abc", 1), 3);
	assert_int_equal(buf[0], '\0');
	assert_int_equal(buf[1], 'x');

	/* size 0: nothing written at all */
	memset(buf, 'x', sizeof(buf));
	assert_int_equal(ad_strlcpy(buf, "abc", 0), 3);
	assert_int_equal(buf[0], 'x');

	assert_int_equal(ad_strlcpy(buf, "", sizeof(buf)), 0);
	assert_string_equal(buf, "");
}

static uint64_t
fake_real(void)
{
	return 1700000000123ULL;
}

static uint64_t
fake_mono(void)
{
	return 42;
}

static void
test_clock_override(void **state)
{
	(void)state;
	uint64_t real = ad_now_ms();
	assert_true(real > 1600000000000ULL); /* after 2020 */
	ad_clock_set(fake_real, fake_mono);
	assert_int_equal(ad_now_ms(), 1700000000123ULL);
	assert_int_equal(ad_mono_ms(), 42);
	ad_clock_set(NULL, NULL);
	assert_true(ad_now_ms() >= real);
	assert_int_not_equal(ad_mono_ms(), 42);
}

static void
test_random(void **state)
{
	uint8_t a[32] = {0}, b[32] = {0};
	(void)state;
	assert_int_equal(ad_random(a, sizeof(a)), 0);
	assert_int_equal(ad_random(b, sizeof(b)), 0);
	assert_false(ad_ct_equal(a, b, sizeof(a)));
}

static void
test_strerror(void **state)
{
	(void)state;
	assert_string_equal(ad_strerror(0), "success");
	assert_string_equal(ad_strerror(AD_EMALF), "malformed data");
	assert_string_equal(ad_strerror(AD_ENOTZONE),
			    "name is outside the zone");
	/* every code in the enum has its own text */
	for (int c = AD_ENOMEM; c > AD_ELAST; c--)
		assert_string_not_equal(ad_strerror(c), "unknown error");
	assert_string_equal(ad_strerror(AD_ELAST), "unknown error");
	assert_string_equal(ad_strerror(1), "unknown error");
	/* -errno passes through to strerror() */
	assert_string_equal(ad_strerror(-2), strerror(2));
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_siphash_vectors),
	    cmocka_unit_test(test_siphash_key_matters),
	    cmocka_unit_test(test_ct_equal),
	    cmocka_unit_test(test_strlcpy),
	    cmocka_unit_test(test_clock_override),
	    cmocka_unit_test(test_random),
	    cmocka_unit_test(test_strerror),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
