/* SPDX-License-Identifier: MIT */
/*
 * Unit tests of the REST body parsers (server/api_json.c) against what
 * acme-dns (Go encoding/json) accepts: case-insensitive keys, last
 * duplicate wins, empty/null/{} register bodies, CIDRs all-or-nothing with
 * brackets stripped, /update decoded from the first JSON value only.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "server/api.h"

static enum srv_api_perr
reg(const char *body, size_t *n, char texts[][64])
{
	struct srv_cidr *c = NULL;
	enum srv_api_perr r = srv_api_parse_register(
		(const uint8_t *)body, strlen(body), &c, n);
	for (size_t i = 0; texts && i < *n; i++)
		snprintf(texts[i], 64, "%s", c[i].text);
	free(c);
	return r;
}

static void
test_register_bodies(void **state)
{
	(void)state;
	size_t n;
	char t[4][64];
	assert_int_equal(reg("", &n, NULL), SRV_API_OK);
	assert_int_equal(n, 0);
	assert_int_equal(reg("{}", &n, NULL), SRV_API_OK);
	assert_int_equal(reg("null", &n, NULL), SRV_API_OK);
	assert_int_equal(reg(" { } \n", &n, NULL), SRV_API_OK);
	assert_int_equal(reg("{\"allowfrom\":null}", &n, NULL), SRV_API_OK);
	assert_int_equal(n, 0);
	assert_int_equal(reg("{\"allowfrom\":[]}", &n, NULL), SRV_API_OK);
	assert_int_equal(reg("{\"foo\":[1,2],\"allowfrom\":[]}", &n, NULL),
			 SRV_API_OK);

	assert_int_equal(
		reg("{\"allowfrom\":[\"192.168.1.0/24\",\"[::1]/128\"]}", &n,
		    t),
		SRV_API_OK);
	assert_int_equal(n, 2);
	assert_string_equal(t[0], "192.168.1.0/24");
	assert_string_equal(t[1], "::1/128");
	/* old goacmedns: "AllowFrom" */
	assert_int_equal(reg("{\"AllowFrom\":[\"10.0.0.0/8\"]}", &n, t),
			 SRV_API_OK);
	assert_int_equal(n, 1);
	/* last duplicate wins */
	assert_int_equal(reg("{\"allowfrom\":[\"bad\"],\"ALLOWFROM\":"
			     "[\"10.0.0.0/8\"]}",
			     &n, t),
			 SRV_API_OK);
	assert_int_equal(n, 1);
	assert_string_equal(t[0], "10.0.0.0/8");
}

static void
test_register_errors(void **state)
{
	(void)state;
	size_t n;
	static const char *const malformed[] = {
		" ",
		"{",
		"{\"allowfrom\":\"10.0.0.0/8\"}",
		"{\"allowfrom\":[1]}",
		"[]",
		"\"x\"",
		"{} x",
		"{}{}",
		"{\"username\":\"x\"}",
		"{\"txt\":5}",
		"[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[]]]]]]]]]]"
		"]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]",
	};
	for (size_t i = 0; i < sizeof(malformed) / sizeof(malformed[0]); i++)
		assert_int_equal(reg(malformed[i], &n, NULL),
				 SRV_API_MALFORMED);
	static const char *const badcidr[] = {
		"{\"allowfrom\":[\"1.2.3.4\"]}",
		"{\"allowfrom\":[\"10.0.0.0/8\",\"1.2.3.4/33\"]}",
		"{\"allowfrom\":[\"01.2.3.4/8\"]}",
		"{\"allowfrom\":[null]}",
		"{\"allowfrom\":[\"\"]}",
		"{\"allowfrom\":[\"example.com/24\"]}",
		"{\"allowfrom\":[\"1.2.3.4/32\\u0000junk\"]}",
		"{\"allowfrom\":[\"1.2.3.4/32\\u0000\"]}",
	};
	for (size_t i = 0; i < sizeof(badcidr) / sizeof(badcidr[0]); i++)
		assert_int_equal(reg(badcidr[i], &n, NULL), SRV_API_BADCIDR);
	/* more than the cap */
	char big[300 * 16 + 32];
	size_t o = (size_t)snprintf(big, sizeof(big), "{\"allowfrom\":[");
	for (int i = 0; i < 300; i++)
		o += (size_t)snprintf(big + o, sizeof(big) - o,
				      "%s\"10.0.%d.0/24\"", i ? "," : "",
				      i % 256);
	snprintf(big + o, sizeof(big) - o, "]}");
	assert_int_equal(reg(big, &n, NULL), SRV_API_BADCIDR);
}

static void
test_update_bodies(void **state)
{
	(void)state;
	char sub[SRV_API_FIELD_MAX], txt[SRV_API_FIELD_MAX];
	size_t sl, tl;
	const char *b = "{\"subdomain\":\"abc\",\"txt\":\"def\"}";
	assert_true(srv_api_parse_update((const uint8_t *)b, strlen(b), sub,
					 &sl, txt, &tl));
	assert_string_equal(sub, "abc");
	assert_string_equal(txt, "def");
	/* old goacmedns keys, and trailing data ignored (json.Decoder) */
	b = "{\"SubDomain\":\"abc\",\"Txt\":\"def\"}garbage";
	assert_true(srv_api_parse_update((const uint8_t *)b, strlen(b), sub,
					 &sl, txt, &tl));
	assert_string_equal(sub, "abc");
	assert_string_equal(txt, "def");
	/* wrong type: field left empty, the rest decoded */
	b = "{\"subdomain\":\"abc\",\"txt\":5}";
	assert_true(srv_api_parse_update((const uint8_t *)b, strlen(b), sub,
					 &sl, txt, &tl));
	assert_string_equal(sub, "abc");
	assert_int_equal(tl, 0);
	/* not JSON */
	b = "subdomain=abc";
	assert_false(srv_api_parse_update((const uint8_t *)b, strlen(b), sub,
					  &sl, txt, &tl));
	assert_int_equal(sl, 0);
	/* an escaped NUL must not cut a value short (cJSON hands out C
	 * strings): the value keeps its length and fails validation */
	b = "{\"subdomain\":\"abc\\u0000x\",\"txt\":\"d\\u0000\"}";
	assert_true(srv_api_parse_update((const uint8_t *)b, strlen(b), sub,
					 &sl, txt, &tl));
	assert_int_equal(sl, 5);
	assert_int_equal(tl, 2);
	assert_int_equal(txt[1], 1);
	/* raw control characters inside strings are not JSON */
	b = "{\"txt\":\"a\tb\"}";
	assert_false(srv_api_parse_update((const uint8_t *)b, strlen(b), sub,
					  &sl, txt, &tl));
	/* long value: cut, full length reported */
	char lb[600];
	memset(lb, 'a', sizeof(lb));
	memcpy(lb, "{\"txt\":\"", 8);
	memcpy(lb + 590, "\"}", 3);
	assert_true(srv_api_parse_update((const uint8_t *)lb, strlen(lb), sub,
					 &sl, txt, &tl));
	assert_int_equal(tl, 582);
	assert_int_equal(strlen(txt), SRV_API_FIELD_MAX - 1);
}

static void
test_stored_allowfrom(void **state)
{
	(void)state;
	struct srv_cidr *c;
	size_t n, bad;
	assert_int_equal(srv_api_cidrs_from_json("[]", &c, &n, &bad), 0);
	assert_int_equal(n, 0);
	assert_null(c);
	assert_int_equal(srv_api_cidrs_from_json("", &c, &n, &bad), 0);
	assert_int_equal(srv_api_cidrs_from_json(
				 "[\"10.0.0.0/8\",\"bad\",\"[::1]/128\"]", &c,
				 &n, &bad),
			 0);
	assert_int_equal(n, 2);
	assert_int_equal(bad, 1);
	free(c);
	assert_int_equal(srv_api_cidrs_from_json("{", &c, &n, &bad) != 0, 1);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_register_bodies),
		cmocka_unit_test(test_register_errors),
		cmocka_unit_test(test_update_bodies),
		cmocka_unit_test(test_stored_allowfrom),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
