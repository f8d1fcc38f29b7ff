/* SPDX-License-Identifier: MIT */
/*
 * Unit tests of the native managed-domain body parsers (server/api_json.c):
 * POST /domains (names, key_type, tlsa, csr; case-sensitive members,
 * unknown and duplicate members refused, each error with its code) and the
 * revoke body (RFC 5280 §5.3.1 reason codes), and the host-name rule the
 * CLI shares.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "acme/engine.h"
#include "server/api.h"

static const char CSR[] = "-----BEGIN CERTIFICATE REQUEST-----\\n"
			  "MIIBAA==\\n"
			  "-----END CERTIFICATE REQUEST-----\\n";

static enum srv_api_derr
dom(const char *body, struct srv_api_domain_body *b, char *detail)
{
	static char scratch[256];
	return srv_api_parse_domain((const uint8_t *)body, strlen(body), b,
				    detail ? detail : scratch, 256);
}

static void
test_domain_ok(void **state)
{
	(void)state;
	struct srv_api_domain_body b;
	char detail[256];

	assert_int_equal(dom("{\"names\":[\"example.test\",\"*.example.test\"]"
			     "}",
			     &b, detail),
			 SRV_API_D_OK);
	assert_int_equal(b.nnames, 2);
	assert_string_equal(b.names[0], "example.test");
	assert_string_equal(b.names[1], "*.example.test");
	assert_null(b.key_type);
	assert_null(b.csr_pem);
	assert_int_equal(b.ntlsa, 0);
	srv_api_domain_body_free(&b);

	/* the contract's full example; names lower-cased, final dot gone */
	assert_int_equal(
		dom(" {\"names\": [\"Example.COM.\", \"*.example.com\"], "
		    "\"key_type\": \"rsa3072\", \"tlsa\": [{\"port\": 443, "
		    "\"proto\": \"tcp\"}, {\"port\": 853, \"proto\": \"udp\"}, "
		    "{\"port\": 25}]} \n",
		    &b, detail),
		SRV_API_D_OK);
	assert_int_equal(b.nnames, 2);
	assert_string_equal(b.names[0], "example.com");
	assert_string_equal(b.key_type, "rsa3072");
	assert_int_equal(b.ntlsa, 3);
	assert_int_equal(b.tlsa[0].port, 443);
	assert_string_equal(b.tlsa[0].proto, "tcp");
	assert_int_equal(b.tlsa[1].port, 853);
	assert_string_equal(b.tlsa[1].proto, "udp");
	assert_int_equal(b.tlsa[2].port, 25);
	assert_string_equal(b.tlsa[2].proto, "tcp"); /* the default */
	srv_api_domain_body_free(&b);

	/* a CSR alone gives the names (the engine reads them) */
	char body[512];
	snprintf(body, sizeof(body), "{\"csr\":\"%s\"}", CSR);
	assert_int_equal(dom(body, &b, detail), SRV_API_D_OK);
	assert_int_equal(b.nnames, 0);
	assert_non_null(b.csr_pem);
	assert_non_null(strstr(b.csr_pem, "-----BEGIN CERTIFICATE REQUEST"));
	srv_api_domain_body_free(&b);

	/* null members are as absent */
	assert_int_equal(dom("{\"names\":[\"a.test\"],\"key_type\":null,"
			     "\"tlsa\":null,\"csr\":null}",
			     &b, detail),
			 SRV_API_D_OK);
	assert_int_equal(b.nnames, 1);
	srv_api_domain_body_free(&b);

	/* 100 names is the limit, and accepted */
	char big[100 * 16 + 64];
	size_t o = (size_t)snprintf(big, sizeof(big), "{\"names\":[");
	for (int i = 0; i < 100; i++)
		o += (size_t)snprintf(big + o, sizeof(big) - o,
				      "%s\"h%d.test\"", i ? "," : "", i);
	snprintf(big + o, sizeof(big) - o, "]}");
	assert_int_equal(dom(big, &b, detail), SRV_API_D_OK);
	assert_int_equal(b.nnames, 100);
	srv_api_domain_body_free(&b);
}

static void
test_domain_errors(void **state)
{
	(void)state;
	static const struct {
		const char *body;
		enum srv_api_derr want;
	} cases[] = {
		{"", SRV_API_D_MALFORMED},
		{"null", SRV_API_D_MALFORMED},
		{"[]", SRV_API_D_MALFORMED},
		{"{", SRV_API_D_MALFORMED},
		{"{\"names\":[\"a.test\"]} x", SRV_API_D_MALFORMED},
		{"{\"names\":[\"a.test\"]}{}", SRV_API_D_MALFORMED},
		/* native API: member names are case-sensitive */
		{"{\"Names\":[\"a.test\"]}", SRV_API_D_MALFORMED},
		{"{\"names\":[\"a.test\"],\"keytype\":\"ec256\"}",
		 SRV_API_D_MALFORMED},
		{"{\"names\":[\"a.test\"],\"names\":[\"b.test\"]}",
		 SRV_API_D_MALFORMED},
		/* names */
		{"{}", SRV_API_D_BADNAMES},
		{"{\"names\":[]}", SRV_API_D_BADNAMES},
		{"{\"names\":\"a.test\"}", SRV_API_D_BADNAMES},
		{"{\"names\":[1]}", SRV_API_D_BADNAMES},
		{"{\"names\":[null]}", SRV_API_D_BADNAMES},
		{"{\"names\":[\"\"]}", SRV_API_D_BADNAMES},
		{"{\"names\":[\"localhost\"]}", SRV_API_D_BADNAMES},
		{"{\"names\":[\"a..test\"]}", SRV_API_D_BADNAMES},
		{"{\"names\":[\".a.test\"]}", SRV_API_D_BADNAMES},
		{"{\"names\":[\"-a.test\"]}", SRV_API_D_BADNAMES},
		{"{\"names\":[\"a-.test\"]}", SRV_API_D_BADNAMES},
		{"{\"names\":[\"a_b.test\"]}", SRV_API_D_BADNAMES},
		{"{\"names\":[\"a b.test\"]}", SRV_API_D_BADNAMES},
		{"{\"names\":[\"10.0.0.1\"]}", SRV_API_D_BADNAMES},
		{"{\"names\":[\"*.*.a.test\"]}", SRV_API_D_BADNAMES},
		{"{\"names\":[\"a.*.test\"]}", SRV_API_D_BADNAMES},
		{"{\"names\":[\"*a.test\"]}", SRV_API_D_BADNAMES},
		{"{\"names\":[\"*.test\"]}", SRV_API_D_BADNAMES},
		{"{\"names\":[\"a.test\",\"A.TEST\"]}", SRV_API_D_BADNAMES},
		{"{\"names\":[\"a\\u0000.test\"]}", SRV_API_D_BADNAMES},
		{"{\"names\":[\"\\u00e9.test\"]}", SRV_API_D_BADNAMES},
		{"{\"names\":[\"a.test..\"]}", SRV_API_D_BADNAMES},
		/* key_type */
		{"{\"names\":[\"a.test\"],\"key_type\":\"ec521\"}",
		 SRV_API_D_BADKEYTYPE},
		{"{\"names\":[\"a.test\"],\"key_type\":\"EC256\"}",
		 SRV_API_D_BADKEYTYPE},
		{"{\"names\":[\"a.test\"],\"key_type\":256}",
		 SRV_API_D_BADKEYTYPE},
		/* tlsa */
		{"{\"names\":[\"a.test\"],\"tlsa\":{}}", SRV_API_D_BADTLSA},
		{"{\"names\":[\"a.test\"],\"tlsa\":[443]}", SRV_API_D_BADTLSA},
		{"{\"names\":[\"a.test\"],\"tlsa\":[{}]}", SRV_API_D_BADTLSA},
		{"{\"names\":[\"a.test\"],\"tlsa\":[{\"port\":0}]}",
		 SRV_API_D_BADTLSA},
		{"{\"names\":[\"a.test\"],\"tlsa\":[{\"port\":65536}]}",
		 SRV_API_D_BADTLSA},
		{"{\"names\":[\"a.test\"],\"tlsa\":[{\"port\":44.5}]}",
		 SRV_API_D_BADTLSA},
		{"{\"names\":[\"a.test\"],\"tlsa\":[{\"port\":\"443\"}]}",
		 SRV_API_D_BADTLSA},
		{"{\"names\":[\"a.test\"],\"tlsa\":[{\"port\":443,\"proto\":"
		 "\"TCP\"}]}",
		 SRV_API_D_BADTLSA},
		{"{\"names\":[\"a.test\"],\"tlsa\":[{\"port\":443,\"proto\":"
		 "\"icmp\"}]}",
		 SRV_API_D_BADTLSA},
		{"{\"names\":[\"a.test\"],\"tlsa\":[{\"port\":443,\"x\":1}]}",
		 SRV_API_D_BADTLSA},
		{"{\"names\":[\"a.test\"],\"tlsa\":[{\"port\":443},{\"port\":"
		 "443,\"proto\":\"tcp\"}]}",
		 SRV_API_D_BADTLSA},
		{"{\"names\":[\"a.test\"],\"tlsa\":[{\"port\":1},{\"port\":2},"
		 "{\"port\":3},{\"port\":4},{\"port\":5},{\"port\":6},"
		 "{\"port\":7},{\"port\":8},{\"port\":9}]}",
		 SRV_API_D_BADTLSA},
		/* csr */
		{"{\"csr\":1}", SRV_API_D_BADCSR},
		{"{\"csr\":\"hello\"}", SRV_API_D_BADCSR},
		{"{\"csr\":\"-----BEGIN CERTIFICATE-----\\nAA==\\n-----END "
		 "CERTIFICATE-----\\n\"}",
		 SRV_API_D_BADCSR},
	};
	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		struct srv_api_domain_body b;
		char detail[256] = "";
		enum srv_api_derr r = dom(cases[i].body, &b, detail);
		if (r != cases[i].want)
			fail_msg("case %zu %s: got %d want %d (%s)", i,
				 cases[i].body, r, cases[i].want, detail);
		/* every error explains itself, and leaves nothing behind */
		assert_true(strlen(detail) > 0);
		assert_null(b.names);
		assert_null(b.key_type);
		assert_null(b.csr_pem);
		assert_null(b.tlsa);
	}

	/* more than 100 names */
	char big[101 * 16 + 64];
	size_t o = (size_t)snprintf(big, sizeof(big), "{\"names\":[");
	for (int i = 0; i < 101; i++)
		o += (size_t)snprintf(big + o, sizeof(big) - o,
				      "%s\"h%d.test\"", i ? "," : "", i);
	snprintf(big + o, sizeof(big) - o, "]}");
	struct srv_api_domain_body b;
	char detail[256];
	assert_int_equal(dom(big, &b, detail), SRV_API_D_BADNAMES);
	assert_non_null(strstr(detail, "too many"));

	/* key_type with a csr: the CSR brings its own key */
	char body[512];
	snprintf(body, sizeof(body), "{\"csr\":\"%s\",\"key_type\":\"ec256\"}",
		 CSR);
	assert_int_equal(dom(body, &b, detail), SRV_API_D_BADKEYTYPE);

	/* an oversized CSR */
	char *huge = malloc(SRV_API_MAX_CSR + 200);
	assert_non_null(huge);
	o = (size_t)snprintf(huge, 64, "{\"csr\":\"%s", "-----BEGIN "
							 "CERTIFICATE "
							 "REQUEST-----");
	memset(huge + o, 'A', SRV_API_MAX_CSR);
	snprintf(huge + o + SRV_API_MAX_CSR, 100,
		 "-----END CERTIFICATE REQUEST-----\"}");
	assert_int_equal(dom(huge, &b, detail), SRV_API_D_BADCSR);
	free(huge);

	/* the detail quotes the bad name, printable only */
	assert_int_equal(dom("{\"names\":[\"bad\\u0007name\"]}", &b, detail),
			 SRV_API_D_BADNAMES);
	assert_non_null(strstr(detail, "bad?name"));
	/* a NULL detail buffer is fine */
	assert_int_equal(srv_api_parse_domain((const uint8_t *)"{}", 2, &b,
					      NULL, 0),
			 SRV_API_D_BADNAMES);
	/* deep nesting never reaches cJSON's recursion */
	char deep[200];
	memset(deep, '[', sizeof(deep) - 1);
	deep[sizeof(deep) - 1] = '\0';
	assert_int_equal(dom(deep, &b, detail), SRV_API_D_MALFORMED);
}

static void
test_codes(void **state)
{
	(void)state;
	assert_string_equal(srv_api_derr_code(SRV_API_D_MALFORMED),
			    "malformed_json_payload");
	assert_string_equal(srv_api_derr_code(SRV_API_D_BADNAMES),
			    "bad_names");
	assert_string_equal(srv_api_derr_code(SRV_API_D_BADKEYTYPE),
			    "bad_key_type");
	assert_string_equal(srv_api_derr_code(SRV_API_D_BADTLSA), "bad_tlsa");
	assert_string_equal(srv_api_derr_code(SRV_API_D_BADCSR), "bad_csr");
	assert_string_equal(srv_api_derr_code(SRV_API_D_BADREASON),
			    "bad_reason");
}

static enum srv_api_derr
rev(const char *body, int *reason)
{
	char detail[256];
	return srv_api_parse_revoke((const uint8_t *)body, strlen(body), reason,
				    detail, sizeof(detail));
}

static void
test_revoke(void **state)
{
	(void)state;
	int r;
	assert_int_equal(rev("", &r), SRV_API_D_OK);
	assert_int_equal(r, -1);
	assert_int_equal(rev(" \r\n", &r), SRV_API_D_OK);
	assert_int_equal(r, -1);
	assert_int_equal(rev("null", &r), SRV_API_D_OK);
	assert_int_equal(r, -1);
	assert_int_equal(rev("{}", &r), SRV_API_D_OK);
	assert_int_equal(r, -1);
	assert_int_equal(rev("{\"reason\":null}", &r), SRV_API_D_OK);
	assert_int_equal(r, -1);
	for (int i = 0; i <= 10; i++) {
		char b[32];
		snprintf(b, sizeof(b), "{\"reason\": %d}", i);
		assert_int_equal(rev(b, &r),
				 i == 7 ? SRV_API_D_BADREASON : SRV_API_D_OK);
		assert_int_equal(r, i == 7 ? -1 : i);
	}
	assert_int_equal(rev("{\"reason\":11}", &r), SRV_API_D_BADREASON);
	assert_int_equal(rev("{\"reason\":-1}", &r), SRV_API_D_BADREASON);
	assert_int_equal(rev("{\"reason\":1.5}", &r), SRV_API_D_BADREASON);
	assert_int_equal(rev("{\"reason\":\"1\"}", &r), SRV_API_D_BADREASON);
	assert_int_equal(rev("{\"reason\":1e300}", &r), SRV_API_D_BADREASON);
	assert_int_equal(rev("{\"Reason\":1}", &r), SRV_API_D_MALFORMED);
	assert_int_equal(rev("{\"reason\":1,\"reason\":2}", &r),
			 SRV_API_D_MALFORMED);
	assert_int_equal(rev("[1]", &r), SRV_API_D_MALFORMED);
	assert_int_equal(rev("{\"reason\":1} 2", &r), SRV_API_D_MALFORMED);
	assert_int_equal(r, -1);
}

static bool
nv(const char *s)
{
	return srv_api_domain_name_valid(s, strlen(s));
}

static void
test_name_valid(void **state)
{
	(void)state;
	assert_true(nv("example.test"));
	assert_true(nv("*.example.test"));
	assert_true(nv("a-b.c0.test"));
	assert_true(nv("xn--bcher-kva.example"));
	assert_true(nv("1.2.3.example")); /* digits fine below the top */
	char l63[80], l64[80];
	memset(l63, 'a', 63);
	strcpy(l63 + 63, ".test");
	memset(l64, 'a', 64);
	strcpy(l64 + 64, ".test");
	assert_true(nv(l63));
	assert_false(nv(l64));
	/* 253 octets in all is the limit (RFC 1035 §2.3.4 in text form) */
	char n253[300], n254[302];
	size_t o = 0;
	while (o + 50 < 253) {
		memset(n253 + o, 'b', 49);
		n253[o + 49] = '.';
		o += 50;
	}
	memset(n253 + o, 'c', 253 - o);
	n253[253] = '\0';
	assert_int_equal(strlen(n253), 253);
	assert_true(nv(n253));
	snprintf(n254, sizeof(n254), "d%s", n253);
	assert_false(nv(n254));
	/* the "*." of a wildcard counts too: the engine holds names to
	 * acme_name_valid(), which measures the whole name */
	memcpy(n253, "*.", 2);
	assert_true(nv(n253));
	n254[0] = '*';
	n254[1] = '.';
	assert_false(nv(n254));
	assert_false(nv(""));
	assert_false(nv("*."));
	assert_false(nv("*"));
	assert_false(nv("test"));
	assert_false(nv("*.test")); /* one label below the wildcard */
	assert_false(nv("*.1.2.3.4"));
	assert_false(nv("Example.test")); /* callers lower-case first */
	assert_false(nv("example.test."));
	assert_false(nv("1.2.3.4"));
	assert_false(nv("a.-b.test"));
	/* len is honoured: no NUL needed */
	assert_true(srv_api_domain_name_valid("a.test!!", 6));
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_domain_ok),
		cmocka_unit_test(test_domain_errors),
		cmocka_unit_test(test_codes),
		cmocka_unit_test(test_revoke),
		cmocka_unit_test(test_name_valid),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
