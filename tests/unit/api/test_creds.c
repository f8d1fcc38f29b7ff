/* SPDX-License-Identifier: MIT */
/*
 * Unit tests of credentials (server/creds.c) and base64url
 * (common/base64.c): generation formats, acme-dns syntax checks, salted
 * hashes and their text form, bcrypt verification with a hash made by
 * libcrypt (as acme-dns's Go bcrypt makes them: $2a$10$).
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>

#include <cmocka.h>
#include <crypt.h>

#include "common/base64.h"
#include "common/errors.h"
#include "server/creds.h"

static void
test_uuid(void **state)
{
	(void)state;
	char a[37], b[37];
	uint8_t u[16];
	assert_int_equal(srv_uuid4(a), 0);
	assert_int_equal(srv_uuid4(b), 0);
	assert_string_not_equal(a, b);
	assert_int_equal(strlen(a), 36);
	assert_int_equal(a[14], '4');			  /* version */
	assert_non_null(strchr("89ab", a[19]));		  /* variant */
	assert_true(srv_uuid_parse(a, 36, u));
	char back[37];
	srv_uuid_format(u, back);
	assert_string_equal(a, back);
	/* upper case parses to the same bytes */
	assert_true(srv_uuid_parse("D420C923-BBD7-4056-AB64-C3CA54C9B3CF", 36,
				   u));
	srv_uuid_format(u, back);
	assert_string_equal(back, "d420c923-bbd7-4056-ab64-c3ca54c9b3cf");
	assert_false(srv_uuid_parse("d420c923bbd7-4056-ab64-c3ca54c9b3cf-", 36,
				    u));
	assert_false(srv_uuid_parse("g420c923-bbd7-4056-ab64-c3ca54c9b3cf", 36,
				    u));
	assert_false(srv_uuid_parse("d420c923-bbd7-4056-ab64-c3ca54c9b3c", 35,
				    u));
	assert_false(srv_uuid_parse("", 0, u));
}

static void
test_key(void **state)
{
	(void)state;
	char k[SRV_KEY_LEN + 1], k2[SRV_KEY_LEN + 1];
	assert_int_equal(srv_key_new(k), 0);
	assert_int_equal(srv_key_new(k2), 0);
	assert_int_equal(strlen(k), 40);
	assert_string_not_equal(k, k2);
	assert_true(srv_key_valid(k, 40));
	assert_false(srv_key_valid(k, 39));
	char bad[41];
	memcpy(bad, k, 41);
	bad[5] = '+';
	assert_false(srv_key_valid(bad, 40));
	bad[5] = '\0';
	assert_false(srv_key_valid(bad, 40));
}

static void
test_txt_subdomain(void **state)
{
	(void)state;
	const char *good = "___validation_token_recieved_from_the_ca___";
	assert_true(srv_txt_valid(good, strlen(good)));
	assert_false(srv_txt_valid(good, 42));
	assert_false(srv_txt_valid("___validation_token_recieved_from_the_ca__=",
				   43));
	assert_false(srv_txt_valid("", 0));
	/* acme-dns validSubdomain cases */
	static const char *const ok[] = {
		"a097455b-52cc-4569-90c8-7a4b97c6eba8",
		"a-67b884e7-c9ad-4f2e-ab7e-ad4a2e9b3dc3",
		"foo.example.com",
		"com",
		"a",
	};
	static const char *const no[] = {
		"",
		"-foo",
		"foo-",
		"foo..com",
		".com",
		"Foo",
		"foo_bar",
		"foo.-bar",
	};
	for (size_t i = 0; i < sizeof(ok) / sizeof(ok[0]); i++)
		assert_true(srv_subdomain_valid(ok[i], strlen(ok[i])));
	for (size_t i = 0; i < sizeof(no) / sizeof(no[0]); i++)
		assert_false(srv_subdomain_valid(no[i], strlen(no[i])));
}

static void
test_hash(void **state)
{
	(void)state;
	char k[SRV_KEY_LEN + 1];
	struct srv_hash h, h2, p;
	char text[SRV_HASH_TEXT];
	assert_int_equal(srv_key_new(k), 0);
	assert_int_equal(srv_hash_new(k, 40, &h), 0);
	assert_int_equal(srv_hash_new(k, 40, &h2), 0);
	/* salted: the same key hashes differently */
	assert_memory_not_equal(h.digest, h2.digest, sizeof(h.digest));
	assert_true(srv_hash_check(&h, k, 40));
	assert_true(srv_hash_check(&h2, k, 40));
	k[0] ^= 1;
	assert_false(srv_hash_check(&h, k, 40));
	k[0] ^= 1;
	assert_false(srv_hash_check(&h, k, 39));
	srv_hash_format(&h, text, sizeof(text));
	assert_true(strncmp(text, "$s256$", 6) == 0);
	assert_int_equal(srv_hash_parse(text, &p), 0);
	assert_memory_equal(&p, &h, sizeof(p));
	assert_true(srv_hash_check(&p, k, 40));
	assert_int_equal(srv_hash_parse("$s256$abc", &p), AD_EMALF);
	assert_int_equal(srv_hash_parse("$2a$10$xyz", &p), AD_EMALF);
	text[strlen(text) - 1] = '*';
	assert_int_equal(srv_hash_parse(text, &p), AD_EMALF);
	assert_false(srv_hash_is_bcrypt(text));
}

static void
test_bcrypt(void **state)
{
	(void)state;
	char k[SRV_KEY_LEN + 1], salt[64];
	struct crypt_data cd;
	memset(&cd, 0, sizeof(cd));
	assert_int_equal(srv_key_new(k), 0);
	/* what Go's bcrypt.GenerateFromPassword(pw, 10) makes: $2a$10$ */
	assert_non_null(crypt_gensalt_rn("$2a$", 10, NULL, 0, salt,
					 sizeof(salt)));
	const char *hash = crypt_r(k, salt, &cd);
	assert_non_null(hash);
	assert_true(srv_hash_is_bcrypt(hash));
	assert_true(srv_bcrypt_check(hash, k, 40));
	k[3] ^= 1;
	assert_false(srv_bcrypt_check(hash, k, 40));
	assert_false(srv_bcrypt_check("$2a$10$short", k, 40));
	assert_false(srv_bcrypt_check(hash, "", 0));
}

static void
test_b64url(void **state)
{
	(void)state;
	/* RFC 4648 §10 vectors, in the url alphabet without padding */
	static const struct {
		const char *in, *out;
	} v[] = {
		{"", ""},	    {"f", "Zg"},	 {"fo", "Zm8"},
		{"foo", "Zm9v"},    {"foob", "Zm9vYg"},	 {"fooba", "Zm9vYmE"},
		{"foobar", "Zm9vYmFy"},
	};
	char out[32];
	uint8_t dec[32];
	for (size_t i = 0; i < sizeof(v) / sizeof(v[0]); i++) {
		size_t n = ad_b64url_encode((const uint8_t *)v[i].in,
					    strlen(v[i].in), out);
		assert_string_equal(out, v[i].out);
		assert_int_equal(n, strlen(v[i].out));
		int d = ad_b64url_decode(out, n, dec, sizeof(dec));
		assert_int_equal(d, (int)strlen(v[i].in));
		assert_memory_equal(dec, v[i].in, (size_t)d);
	}
	const uint8_t bin[] = {0xfb, 0xff, 0xfe};
	ad_b64url_encode(bin, 3, out);
	assert_string_equal(out, "-__-");
	assert_int_equal(ad_b64url_decode("Zm9v=", 5, dec, sizeof(dec)),
			 AD_EMALF);
	assert_int_equal(ad_b64url_decode("Z", 1, dec, sizeof(dec)), AD_EMALF);
	assert_int_equal(ad_b64url_decode("Zh", 2, dec, sizeof(dec)),
			 AD_EMALF); /* non-zero trailing bits */
	assert_int_equal(ad_b64url_decode("Zm9vYmFy", 8, dec, 5), AD_ESPACE);
	assert_int_equal(ad_b64url_decode("Zm+v", 4, dec, sizeof(dec)),
			 AD_EMALF);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_uuid),   cmocka_unit_test(test_key),
		cmocka_unit_test(test_txt_subdomain),
		cmocka_unit_test(test_hash),   cmocka_unit_test(test_bcrypt),
		cmocka_unit_test(test_b64url),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
