/* SPDX-License-Identifier: MIT */
/*
 * Unit tests of acme/msg.c: the parsers of what an ACME server sends. The
 * bodies are shaped like the ones Pebble 2.4 and Let's Encrypt (Boulder)
 * send, and like the examples of RFC 8555 §7.1 and RFC 9773 §4.2; each
 * parser is then driven through its error paths (wrong member types,
 * missing members, truncated JSON, lists over the cap, bad URLs, NUL
 * escapes, deep nesting) and every failure is checked to leave its output
 * zeroed. Also RFC 3339 times, Retry-After, Link headers and the problem
 * summary's truncation. Runs under ASan: nothing may leak.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "acme/msg.h"
#include "common/errors.h"

#define S(lit) (lit), (sizeof(lit) - 1)

/* Every byte of *p is zero (a failed parse must leave nothing behind). */
static bool
all_zero(const void *p, size_t n)
{
	const unsigned char *b = p;
	for (size_t i = 0; i < n; i++)
		if (b[i])
			return false;
	return true;
}
#define assert_zeroed(p) assert_true(all_zero((p), sizeof(*(p))))

/* A heap copy of exactly len bytes: ASan reports any read past len. */
static char *
exact(const char *s, size_t len)
{
	char *b = malloc(len ? len : 1);
	assert_non_null(b);
	memcpy(b, s, len);
	return b;
}

/* Growable string for the generated bodies (huge lists, deep nesting). */
struct gbuf {
	char *s;
	size_t len, cap;
};

static void
gput(struct gbuf *g, const char *s)
{
	size_t n = strlen(s);
	if (g->len + n + 1 > g->cap) {
		g->cap = (g->len + n + 1) * 2;
		g->s = realloc(g->s, g->cap);
		assert_non_null(g->s);
	}
	memcpy(g->s + g->len, s, n + 1);
	g->len += n;
}

/* ---- real bodies ------------------------------------------------------ */

static const char pebble_dir[] =
    "{\n"
    "   \"keyChange\": \"https://127.0.0.1:14000/rollover-account-key\",\n"
    "   \"meta\": {\n"
    "      \"externalAccountRequired\": false,\n"
    "      \"termsOfService\": "
    "\"data:text/plain,Do%20what%20thou%20wilt\"\n"
    "   },\n"
    "   \"newAccount\": \"https://127.0.0.1:14000/sign-me-up\",\n"
    "   \"newNonce\": \"https://127.0.0.1:14000/nonce-plz\",\n"
    "   \"newOrder\": \"https://127.0.0.1:14000/order-plz\",\n"
    "   \"revokeCert\": \"https://127.0.0.1:14000/revoke-cert\"\n"
    "}";

static const char le_dir[] =
    "{\n"
    "  \"Qm9vdWxkZXI\": \"https://community.letsencrypt.org/t/"
    "adding-random-entries-to-the-directory/33417\",\n"
    "  \"keyChange\": \"https://acme-v02.api.letsencrypt.org/acme/"
    "key-change\",\n"
    "  \"meta\": {\n"
    "    \"caaIdentities\": [\"letsencrypt.org\"],\n"
    "    \"profiles\": {\n"
    "      \"classic\": \"https://letsencrypt.org/docs/profiles#classic\",\n"
    "      \"shortlived\": "
    "\"https://letsencrypt.org/docs/profiles#shortlived\",\n"
    "      \"tlsserver\": "
    "\"https://letsencrypt.org/docs/profiles#tlsserver\"\n"
    "    },\n"
    "    \"termsOfService\": \"https://letsencrypt.org/documents/"
    "LE-SA-v1.5-February-24-2025.pdf\",\n"
    "    \"website\": \"https://letsencrypt.org\"\n"
    "  },\n"
    "  \"newAccount\": \"https://acme-v02.api.letsencrypt.org/acme/"
    "new-acct\",\n"
    "  \"newNonce\": \"https://acme-v02.api.letsencrypt.org/acme/"
    "new-nonce\",\n"
    "  \"newOrder\": \"https://acme-v02.api.letsencrypt.org/acme/"
    "new-order\",\n"
    "  \"renewalInfo\": \"https://acme-v02.api.letsencrypt.org/"
    "draft-ietf-acme-ari-03/renewalInfo\",\n"
    "  \"revokeCert\": \"https://acme-v02.api.letsencrypt.org/acme/"
    "revoke-cert\"\n"
    "}\n";

/* RFC 8555 §7.1.1 example, with EAB required */
static const char rfc_dir[] =
    "{\"newNonce\":\"https://example.com/acme/new-nonce\","
    "\"newAccount\":\"https://example.com/acme/new-account\","
    "\"newOrder\":\"https://example.com/acme/new-order\","
    "\"newAuthz\":\"https://example.com/acme/new-authz\","
    "\"revokeCert\":\"https://example.com/acme/revoke-cert\","
    "\"keyChange\":\"https://example.com/acme/key-change\","
    "\"meta\":{\"termsOfService\":\"https://example.com/acme/terms/"
    "2017-5-30\",\"website\":\"https://www.example.com/\","
    "\"caaIdentities\":[\"example.com\"],"
    "\"externalAccountRequired\":true}}";

static const char pebble_order[] =
    "{\n"
    "   \"status\": \"pending\",\n"
    "   \"expires\": \"2026-12-02T10:00:00Z\",\n"
    "   \"identifiers\": [\n"
    "      {\n"
    "         \"type\": \"dns\",\n"
    "         \"value\": \"example.test\"\n"
    "      },\n"
    "      {\n"
    "         \"type\": \"dns\",\n"
    "         \"value\": \"*.example.test\"\n"
    "      }\n"
    "   ],\n"
    "   \"finalize\": \"https://127.0.0.1:14000/finalize-order/"
    "Xb3t8mG2kJ7m6kNq3QpQ1Q\",\n"
    "   \"authorizations\": [\n"
    "      \"https://127.0.0.1:14000/authZ/fV4cTKL5kDq2dA7h8y1w1A\",\n"
    "      \"https://127.0.0.1:14000/authZ/0b5q5ZtKcVhK3WTxTFFjZw\"\n"
    "   ]\n"
    "}";

static const char le_order_valid[] =
    "{\n"
    "  \"status\": \"valid\",\n"
    "  \"expires\": \"2026-12-08T10:11:12Z\",\n"
    "  \"identifiers\": [\n"
    "    {\n"
    "      \"type\": \"dns\",\n"
    "      \"value\": \"www.example.com\"\n"
    "    }\n"
    "  ],\n"
    "  \"profile\": \"classic\",\n"
    "  \"authorizations\": [\n"
    "    \"https://acme-v02.api.letsencrypt.org/acme/authz/1234567/"
    "987654321\"\n"
    "  ],\n"
    "  \"finalize\": \"https://acme-v02.api.letsencrypt.org/acme/"
    "finalize/1234567/11223344\",\n"
    "  \"certificate\": \"https://acme-v02.api.letsencrypt.org/acme/"
    "cert/04a1b2c3d4e5f60718293a4b5c6d7e8f9a0b\"\n"
    "}";

static const char le_order_invalid[] =
    "{\"status\":\"invalid\",\"expires\":\"2026-12-08T10:11:12.5Z\","
    "\"identifiers\":[{\"type\":\"dns\",\"value\":\"a.example.com\"},"
    "{\"type\":\"dns\",\"value\":\"b.example.com\"}],"
    "\"authorizations\":[],"
    "\"finalize\":\"https://acme-v02.api.letsencrypt.org/acme/finalize/"
    "1/2\","
    "\"error\":{\"type\":\"urn:ietf:params:acme:error:unauthorized\","
    "\"detail\":\"Error finalizing order :: authorizations for these "
    "identifiers not found: b.example.com\",\"status\":403}}";

static const char pebble_authz[] =
    "{\n"
    "   \"status\": \"pending\",\n"
    "   \"identifier\": {\n"
    "      \"type\": \"dns\",\n"
    "      \"value\": \"example.test\"\n"
    "   },\n"
    "   \"challenges\": [\n"
    "      {\n"
    "         \"type\": \"tls-alpn-01\",\n"
    "         \"url\": \"https://127.0.0.1:14000/chalZ/aaa\",\n"
    "         \"token\": \"dqsT2gAhf4zGNOK8sNv9cMgPEaFjiJzu-_5S_v9fb1Q\",\n"
    "         \"status\": \"pending\"\n"
    "      },\n"
    "      {\n"
    "         \"type\": \"http-01\",\n"
    "         \"url\": \"https://127.0.0.1:14000/chalZ/bbb\",\n"
    "         \"token\": \"Zf5BG2VkPN1VAsvm3XxJqqBqzeV0xeRN2wqEw5VWzGc\",\n"
    "         \"status\": \"pending\"\n"
    "      },\n"
    "      {\n"
    "         \"type\": \"dns-01\",\n"
    "         \"url\": \"https://127.0.0.1:14000/chalZ/ccc\",\n"
    "         \"token\": \"evaGxfADs6pSRb2LAv9IZf17Dt3juxGJ-PCt92wr-oA\",\n"
    "         \"status\": \"pending\"\n"
    "      }\n"
    "   ],\n"
    "   \"expires\": \"2026-12-01T11:00:00+01:00\"\n"
    "}";

static const char le_authz_wild[] =
    "{\n"
    "  \"identifier\": {\n"
    "    \"type\": \"dns\",\n"
    "    \"value\": \"example.com\"\n"
    "  },\n"
    "  \"status\": \"valid\",\n"
    "  \"expires\": \"2026-12-31T23:59:59Z\",\n"
    "  \"challenges\": [\n"
    "    {\n"
    "      \"type\": \"dns-01\",\n"
    "      \"url\": \"https://acme-v02.api.letsencrypt.org/acme/chall/"
    "1234567/987654321/Pq8rXw\",\n"
    "      \"status\": \"valid\",\n"
    "      \"validated\": \"2026-12-01T10:00:03.123456789Z\",\n"
    "      \"token\": \"DGyRejmCefe7v4NfDGDKfA\",\n"
    "      \"validationRecord\": [\n"
    "        {\n"
    "          \"hostname\": \"example.com\",\n"
    "          \"resolverAddrs\": [\"10.1.2.3:53\"]\n"
    "        }\n"
    "      ]\n"
    "    }\n"
    "  ],\n"
    "  \"wildcard\": true\n"
    "}";

static const char le_chall_invalid[] =
    "{\"type\":\"dns-01\",\"url\":\"https://acme-v02.api.letsencrypt.org/"
    "acme/chall/1/2/x\",\"status\":\"invalid\","
    "\"validated\":\"2026-12-01T10:00:03Z\","
    "\"error\":{\"type\":\"urn:ietf:params:acme:error:unauthorized\","
    "\"detail\":\"Incorrect TXT record \\\"abc\\\" found at "
    "_acme-challenge.example.com\",\"status\":403},"
    "\"token\":\"DGyRejmCefe7v4NfDGDKfA\"}";

static const char le_problem_subs[] =
    "{\n"
    "  \"type\": \"urn:ietf:params:acme:error:rejectedIdentifier\",\n"
    "  \"detail\": \"Error creating new order :: Cannot issue for "
    "\\\"bad..example.com\\\": Domain name contains an invalid "
    "character\",\n"
    "  \"status\": 400,\n"
    "  \"subproblems\": [\n"
    "    {\n"
    "      \"type\": \"urn:ietf:params:acme:error:malformed\",\n"
    "      \"detail\": \"Domain name contains an invalid character\",\n"
    "      \"status\": 400,\n"
    "      \"identifier\": {\n"
    "        \"type\": \"dns\",\n"
    "        \"value\": \"bad..example.com\"\n"
    "      }\n"
    "    },\n"
    "    {\n"
    "      \"type\": \"urn:ietf:params:acme:error:caa\",\n"
    "      \"detail\": \"CAA record forbids issuance\",\n"
    "      \"identifier\": {\"type\": \"dns\", \"value\": "
    "\"caa.example.com\"}\n"
    "    }\n"
    "  ]\n"
    "}";

/* ---- statuses ---------------------------------------------------------- */

static void
test_status(void **state)
{
	static const char *const names[] = {
	    "pending", "ready",       "processing", "valid",
	    "invalid", "deactivated", "expired",    "revoked",
	};
	(void)state;
	for (size_t i = 0; i < sizeof(names) / sizeof(names[0]); i++) {
		enum acme_status s = acme_status_parse(names[i]);
		assert_int_equal(s, (int)i + 1);
		assert_string_equal(acme_status_name(s), names[i]);
	}
	assert_int_equal(acme_status_parse("Valid"), ACME_ST_UNKNOWN);
	assert_int_equal(acme_status_parse(""), ACME_ST_UNKNOWN);
	assert_int_equal(acme_status_parse("unknown"), ACME_ST_UNKNOWN);
	assert_int_equal(acme_status_parse(NULL), ACME_ST_UNKNOWN);
	assert_string_equal(acme_status_name(ACME_ST_UNKNOWN), "unknown");
	assert_string_equal(acme_status_name((enum acme_status)99), "unknown");
}

/* ---- directory --------------------------------------------------------- */

static void
test_directory_pebble(void **state)
{
	struct acme_directory d;
	(void)state;
	char *b = exact(S(pebble_dir));
	assert_int_equal(acme_directory_parse(b, sizeof(pebble_dir) - 1, &d),
			 0);
	free(b);
	assert_string_equal(d.new_nonce, "https://127.0.0.1:14000/nonce-plz");
	assert_string_equal(d.new_account,
			    "https://127.0.0.1:14000/sign-me-up");
	assert_string_equal(d.new_order, "https://127.0.0.1:14000/order-plz");
	assert_string_equal(d.revoke_cert,
			    "https://127.0.0.1:14000/revoke-cert");
	assert_string_equal(d.key_change,
			    "https://127.0.0.1:14000/rollover-account-key");
	assert_null(d.new_authz);
	assert_null(d.renewal_info);
	assert_string_equal(d.terms_of_service,
			    "data:text/plain,Do%20what%20thou%20wilt");
	assert_null(d.website);
	assert_false(d.eab_required);
	assert_null(d.profiles);
	assert_int_equal(d.nprofiles, 0);
	assert_false(acme_directory_has_profile(&d, "classic"));
	acme_directory_free(&d);
	assert_zeroed(&d);
	acme_directory_free(&d); /* a zeroed struct frees again */
}

static void
test_directory_le(void **state)
{
	struct acme_directory d;
	(void)state;
	assert_int_equal(acme_directory_parse(S(le_dir), &d), 0);
	assert_string_equal(d.new_nonce,
			    "https://acme-v02.api.letsencrypt.org/acme/"
			    "new-nonce");
	assert_string_equal(d.renewal_info,
			    "https://acme-v02.api.letsencrypt.org/"
			    "draft-ietf-acme-ari-03/renewalInfo");
	assert_string_equal(d.website, "https://letsencrypt.org");
	assert_int_equal(d.nprofiles, 3);
	assert_string_equal(d.profiles[0], "classic");
	assert_string_equal(d.profiles[1], "shortlived");
	assert_string_equal(d.profiles[2], "tlsserver");
	assert_null(d.profiles[3]);
	assert_true(acme_directory_has_profile(&d, "shortlived"));
	assert_false(acme_directory_has_profile(&d, "Classic"));
	assert_false(acme_directory_has_profile(&d, NULL));
	acme_directory_free(&d);

	assert_int_equal(acme_directory_parse(S(rfc_dir), &d), 0);
	assert_true(d.eab_required);
	assert_string_equal(d.new_authz, "https://example.com/acme/new-authz");
	acme_directory_free(&d);
}

/* Each of these must fail with want and leave the struct zeroed. */
struct bad {
	const char *body;
	int want;
};

/*
 * Case i: body must fail to parse with want, read from an exact heap copy
 * (ASan sees a read past its end), and leave the output, of type T and
 * filled with garbage first, zeroed. A macro because every parser has an
 * output type of its own.
 */
#define EXPECT_BAD(T, parse, i, body, want)                                    \
	do {                                                                   \
		T out_;                                                        \
		const char *body_ = (body);                                    \
		size_t len_ = strlen(body_);                                   \
		char *b_ = exact(body_, len_);                                 \
		memset(&out_, 0xa5, sizeof(out_));                             \
		int r_ = parse(b_, len_, &out_);                               \
		free(b_);                                                      \
		if (r_ != (want))                                              \
			fail_msg("case %zu (%s): got %d want %d", (size_t)(i), \
				 body_, r_, (int)(want));                      \
		assert_zeroed(&out_);                                          \
	} while (0)

/* Every case of a struct bad table through EXPECT_BAD. */
#define EXPECT_BAD_ALL(T, parse, cases)                                        \
	do {                                                                   \
		for (size_t k_ = 0; k_ < sizeof(cases) / sizeof(cases[0]);     \
		     k_++)                                                     \
			EXPECT_BAD(T, parse, k_, cases[k_].body,               \
				   cases[k_].want);                            \
	} while (0)

static void
dir_bad(const struct bad *cases, size_t n)
{
	for (size_t i = 0; i < n; i++)
		EXPECT_BAD(struct acme_directory, acme_directory_parse, i,
			   cases[i].body, cases[i].want);
}

#define DIR3                                                                   \
	"\"newNonce\":\"https://ca/n\",\"newAccount\":\"https://ca/a\","       \
	"\"newOrder\":\"https://ca/o\""

static void
test_directory_bad(void **state)
{
	static const struct bad cases[] = {
	    {"", AD_EMALF},
	    {" ", AD_EMALF},
	    {"[]", AD_EMALF},
	    {"\"newNonce\"", AD_EMALF},
	    {"null", AD_EMALF},
	    {"42", AD_EMALF},
	    {"{}", AD_EMALF},
	    {"{" DIR3, AD_EMALF},       /* truncated */
	    {"{" DIR3 "} x", AD_EMALF}, /* trailing garbage */
	    {"{" DIR3 "}{}", AD_EMALF},
	    {"{\"newAccount\":\"https://ca/a\",\"newOrder\":\"https://ca/o\"}",
	     AD_EMALF}, /* no newNonce */
	    {"{\"newNonce\":\"https://ca/n\",\"newAccount\":\"https://ca/a\","
	     "\"newOrder\":42}",
	     AD_EMALF},
	    {"{\"newNonce\":\"https://ca/n\",\"newAccount\":\"https://ca/a\","
	     "\"newOrder\":null}",
	     AD_EMALF}, /* null is absent, and it is required */
	    {"{\"newNonce\":\"ftp://ca/n\",\"newAccount\":\"https://ca/a\","
	     "\"newOrder\":\"https://ca/o\"}",
	     AD_EMALF},
	    {"{\"newNonce\":\"/relative\",\"newAccount\":\"https://ca/a\","
	     "\"newOrder\":\"https://ca/o\"}",
	     AD_EMALF},
	    {"{\"newNonce\":\"https://\",\"newAccount\":\"https://ca/a\","
	     "\"newOrder\":\"https://ca/o\"}",
	     AD_EMALF},
	    {"{\"newNonce\":\"https://ca/n x\",\"newAccount\":\"https://ca/a\","
	     "\"newOrder\":\"https://ca/o\"}",
	     AD_EMALF},
	    {"{\"newNonce\":\"https://ca/n\\r\\nX: y\","
	     "\"newAccount\":\"https://ca/a\",\"newOrder\":\"https://ca/o\"}",
	     AD_EMALF}, /* header injection */
	    {"{\"newNonce\":\"https://ca/n\\u0000.evil\","
	     "\"newAccount\":\"https://ca/a\",\"newOrder\":\"https://ca/o\"}",
	     AD_EMALF},
	    {"{" DIR3 ",\"x\":\"\\u0000\"}", AD_EMALF},
	    {"{" DIR3 ",\"revokeCert\":[]}", AD_EMALF},
	    {"{" DIR3 ",\"keyChange\":\"mailto:x\"}", AD_EMALF},
	    {"{" DIR3 ",\"renewalInfo\":true}", AD_EMALF},
	    {"{" DIR3 ",\"newAuthz\":{}}", AD_EMALF},
	    {"{" DIR3 ",\"meta\":[]}", AD_EMALF},
	    {"{" DIR3 ",\"meta\":\"x\"}", AD_EMALF},
	    {"{" DIR3 ",\"meta\":{\"externalAccountRequired\":\"true\"}}",
	     AD_EMALF},
	    {"{" DIR3 ",\"meta\":{\"externalAccountRequired\":1}}", AD_EMALF},
	    {"{" DIR3 ",\"meta\":{\"termsOfService\":7}}", AD_EMALF},
	    {"{" DIR3 ",\"meta\":{\"website\":\"https://a b\"}}", AD_EMALF},
	    {"{" DIR3 ",\"meta\":{\"profiles\":[\"classic\"]}}", AD_EMALF},
	    {"{" DIR3 ",\"meta\":{\"profiles\":\"classic\"}}", AD_EMALF},
	    {"{" DIR3 ",\"meta\":{\"profiles\":{\"\":\"empty\"}}}", AD_EMALF},
	    {"{\"newNonce\":\"https://ca/n\",\"newNonce\":\"https://ca/n\","
	     "\"newAccount\":\"https://ca/a\",\"newOrder\":\"https://ca/o\","
	     "\"meta\":{\"profiles\":{\"a\":1,\"b\":2},\"website\":[1]}}",
	     AD_EMALF}, /* fails after profiles were allocated */
	    {"{\"newNonce\":\"https://ca/n\",\"newAccount\":\"https://ca/a\","
	     "\"newOrder\":\"https://ca/\\ud800\"}",
	     AD_EMALF}, /* lone surrogate */
	};
	(void)state;
	dir_bad(cases, sizeof(cases) / sizeof(cases[0]));
}

static void
test_directory_edge(void **state)
{
	struct acme_directory d;
	(void)state;

	/* escaped backslash then "u0000" is text, not a NUL */
	const char ok1[] = "{" DIR3 ",\"meta\":{\"website\":"
			   "\"https://ca/\\\\u0000\"}}";
	assert_int_equal(acme_directory_parse(S(ok1), &d), 0);
	assert_string_equal(d.website, "https://ca/\\u0000");
	acme_directory_free(&d);

	/* optional members as null, unknown members of every type,
	 * upper-case scheme, http:// and trailing whitespace */
	const char ok2[] =
	    "\xef\xbb\xbf{\"newNonce\":\"HTTPS://ca/n\",\"newAccount\":"
	    "\"http://ca/a\",\"newOrder\":\"https://ca/o\","
	    "\"revokeCert\":null,\"meta\":null,\"x\":[1,{\"y\":null}],"
	    "\"z\":-1.5e300}\r\n\t ";
	/* cJSON skips a leading UTF-8 BOM (RFC 8259 §8.1 allows that) */
	int r = acme_directory_parse(S(ok2), &d);
	assert_int_equal(r, 0);
	assert_string_equal(d.new_account, "http://ca/a");
	assert_null(d.revoke_cert);
	acme_directory_free(&d);
	assert_int_equal(acme_directory_parse(ok2 + 3, sizeof(ok2) - 4, &d), 0);
	assert_string_equal(d.new_nonce, "HTTPS://ca/n");
	acme_directory_free(&d);

	/* an empty profiles object is no profiles */
	const char nop[] = "{" DIR3 ",\"meta\":{\"profiles\":{}}}";
	assert_int_equal(acme_directory_parse(S(nop), &d), 0);
	assert_null(d.profiles);
	acme_directory_free(&d);

	/* a raw NUL byte is never JSON */
	const char nul[] = "{" DIR3 "}\0";
	assert_int_equal(acme_directory_parse(nul, sizeof(nul) - 1, &d),
			 AD_EMALF);
	assert_zeroed(&d);

	/* a body that is cut short of its length is not read past len */
	assert_int_equal(acme_directory_parse(pebble_dir, 100, &d), AD_EMALF);
	assert_int_equal(acme_directory_parse(NULL, 0, &d), AD_EMALF);

	/* URL length: 2048 is fine, 2049 is not */
	for (size_t ulen = 2047; ulen <= 2049; ulen++) {
		struct gbuf g = {0};
		gput(&g, "{\"newNonce\":\"https://ca/");
		while (g.len < 13 + ulen)
			gput(&g, "a");
		gput(&g, "\",\"newAccount\":\"https://ca/a\","
			 "\"newOrder\":\"https://ca/o\"}");
		r = acme_directory_parse(g.s, g.len, &d);
		assert_int_equal(r, ulen <= ACME_MSG_MAX_URL ? 0 : AD_EMALF);
		if (r == 0)
			assert_int_equal(strlen(d.new_nonce), ulen);
		acme_directory_free(&d);
		free(g.s);
	}
}

static void
test_directory_limits(void **state)
{
	struct acme_directory d;
	struct gbuf g = {0};
	char key[32];
	(void)state;

	/* 1000 profiles is the cap, 1001 is AD_ELIMIT */
	for (int n = 1000; n <= 1001; n++) {
		g.len = 0;
		gput(&g, "{" DIR3 ",\"meta\":{\"profiles\":{");
		for (int i = 0; i < n; i++) {
			snprintf(key, sizeof(key), "%s\"p%d\":\"\"",
				 i ? "," : "", i);
			gput(&g, key);
		}
		gput(&g, "}}}");
		int r = acme_directory_parse(g.s, g.len, &d);
		if (n == 1000) {
			assert_int_equal(r, 0);
			assert_int_equal(d.nprofiles, 1000);
			assert_true(acme_directory_has_profile(&d, "p999"));
			acme_directory_free(&d);
		} else {
			assert_int_equal(r, AD_ELIMIT);
			assert_zeroed(&d);
		}
	}

	/* bodies over 1 MiB are refused before parsing */
	g.len = 0;
	gput(&g, "{" DIR3 ",\"pad\":\"");
	while (g.len < ACME_MSG_MAX_BODY - 2)
		gput(&g, "xxxxxxxxxxxxxxxx");
	g.len = ACME_MSG_MAX_BODY - 2;
	g.s[g.len] = '\0';
	gput(&g, "\"}");
	assert_int_equal(g.len, ACME_MSG_MAX_BODY);
	assert_int_equal(acme_directory_parse(g.s, g.len, &d), 0);
	acme_directory_free(&d);
	g.s[g.len - 1] = ' ';
	gput(&g, "}");
	assert_int_equal(acme_directory_parse(g.s, g.len, &d), AD_ELIMIT);
	assert_zeroed(&d);

	/* deep nesting: cJSON's nesting limit turns it into AD_EMALF */
	g.len = 0;
	gput(&g, "{" DIR3 ",\"deep\":");
	for (int i = 0; i < 5000; i++)
		gput(&g, "[");
	for (int i = 0; i < 5000; i++)
		gput(&g, "]");
	gput(&g, "}");
	assert_int_equal(acme_directory_parse(g.s, g.len, &d), AD_EMALF);
	assert_zeroed(&d);
	/* and moderate nesting inside an ignored member is fine */
	g.len = 0;
	gput(&g, "{" DIR3 ",\"deep\":");
	for (int i = 0; i < 100; i++)
		gput(&g, "{\"a\":");
	gput(&g, "1");
	for (int i = 0; i < 100; i++)
		gput(&g, "}");
	gput(&g, "}");
	assert_int_equal(acme_directory_parse(g.s, g.len, &d), 0);
	acme_directory_free(&d);
	free(g.s);
}

/* ---- account ----------------------------------------------------------- */

static void
test_account(void **state)
{
	struct acme_account a;
	(void)state;

	/* Pebble: status, contact, orders, key */
	const char pebble[] =
	    "{\n   \"status\": \"valid\",\n   \"contact\": [\n"
	    "      \"mailto:admin@example.test\"\n   ],\n"
	    "   \"orders\": \"https://127.0.0.1:14000/list-orderz/1\",\n"
	    "   \"key\": {\"kty\": \"EC\", \"crv\": \"P-256\", "
	    "\"x\": \"AAAA\", \"y\": \"BBBB\"}\n}";
	assert_int_equal(acme_account_parse(S(pebble), &a), 0);
	assert_string_equal(a.status, "valid");
	assert_int_equal(a.ncontact, 1);
	assert_string_equal(a.contact[0], "mailto:admin@example.test");
	assert_null(a.contact[1]);
	assert_string_equal(a.orders, "https://127.0.0.1:14000/list-orderz/1");
	acme_account_free(&a);
	assert_zeroed(&a);

	/* Boulder: no "orders", createdAt and initialIp extras */
	const char le[] =
	    "{\"key\":{\"kty\":\"RSA\",\"n\":\"x\",\"e\":\"AQAB\"},"
	    "\"contact\":[\"mailto:a@example.com\",\"mailto:b@example.com\"],"
	    "\"initialIp\":\"192.0.2.1\",\"createdAt\":"
	    "\"2026-12-01T10:00:00Z\",\"status\":\"valid\"}";
	assert_int_equal(acme_account_parse(S(le), &a), 0);
	assert_int_equal(a.ncontact, 2);
	assert_string_equal(a.contact[1], "mailto:b@example.com");
	assert_null(a.orders);
	acme_account_free(&a);

	const char deact[] = "{\"status\":\"deactivated\"}";
	assert_int_equal(acme_account_parse(S(deact), &a), 0);
	assert_null(a.contact);
	assert_int_equal(a.ncontact, 0);
	acme_account_free(&a);

	static const char *const bad[] = {
	    "{}",
	    "{\"status\":1}",
	    "{\"status\":\"valid\",\"contact\":\"mailto:a@b\"}",
	    "{\"status\":\"valid\",\"contact\":[\"mailto:a@b\",7]}",
	    "{\"status\":\"valid\",\"contact\":[\"mailto:a@b\",null]}",
	    "{\"status\":\"valid\",\"orders\":\"file:///etc/passwd\"}",
	    "{\"status\":\"valid\",\"orders\":[]}",
	    "{\"status\":\"valid\"",
	    "[{\"status\":\"valid\"}]",
	};
	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		memset(&a, 0x5a, sizeof(a));
		assert_int_equal(acme_account_parse(bad[i], strlen(bad[i]), &a),
				 AD_EMALF);
		assert_zeroed(&a);
	}

	struct gbuf g = {0};
	gput(&g, "{\"status\":\"valid\",\"contact\":[");
	for (int i = 0; i <= ACME_MSG_MAX_LIST; i++)
		gput(&g, i ? ",\"mailto:x@y\"" : "\"mailto:x@y\"");
	gput(&g, "]}");
	assert_int_equal(acme_account_parse(g.s, g.len, &a), AD_ELIMIT);
	assert_zeroed(&a);
	free(g.s);
}

/* ---- orders ------------------------------------------------------------ */

static void
test_order_shapes(void **state)
{
	struct acme_order o;
	(void)state;

	char *b = exact(S(pebble_order));
	assert_int_equal(acme_order_parse(b, sizeof(pebble_order) - 1, &o), 0);
	free(b);
	assert_int_equal(o.status, ACME_ST_PENDING);
	assert_int_equal(o.expires, 1796205600); /* 2026-12-02T10:00:00Z */
	assert_int_equal(o.nidents, 2);
	assert_string_equal(o.idents[0].type, "dns");
	assert_string_equal(o.idents[0].value, "example.test");
	assert_string_equal(o.idents[1].value, "*.example.test");
	assert_int_equal(o.nauthzs, 2);
	assert_string_equal(o.authzs[1], "https://127.0.0.1:14000/authZ/"
					 "0b5q5ZtKcVhK3WTxTFFjZw");
	assert_null(o.authzs[2]);
	assert_string_equal(o.finalize,
			    "https://127.0.0.1:14000/"
			    "finalize-order/Xb3t8mG2kJ7m6kNq3QpQ1Q");
	assert_null(o.certificate);
	assert_null(o.profile);
	assert_false(o.has_error);
	assert_zeroed(&o.error);
	acme_order_free(&o);
	assert_zeroed(&o);

	assert_int_equal(acme_order_parse(S(le_order_valid), &o), 0);
	assert_int_equal(o.status, ACME_ST_VALID);
	assert_string_equal(o.profile, "classic");
	assert_string_equal(o.certificate,
			    "https://acme-v02.api.letsencrypt.org/acme/cert/"
			    "04a1b2c3d4e5f60718293a4b5c6d7e8f9a0b");
	acme_order_free(&o);

	assert_int_equal(acme_order_parse(S(le_order_invalid), &o), 0);
	assert_int_equal(o.status, ACME_ST_INVALID);
	assert_int_equal(o.expires, 1796724672); /* .5 truncated */
	assert_int_equal(o.nauthzs, 0);
	assert_null(o.authzs);
	assert_true(o.has_error);
	assert_true(acme_problem_is(&o.error, "unauthorized"));
	assert_int_equal(o.error.status, 403);
	acme_order_free(&o);

	/* the other statuses an order goes through */
	static const char *const st[] = {"ready", "processing"};
	for (size_t i = 0; i < 2; i++) {
		char body[256];
		int n = snprintf(body, sizeof(body),
				 "{\"status\":\"%s\",\"identifiers\":[],"
				 "\"authorizations\":[],"
				 "\"finalize\":\"https://ca/f\"}",
				 st[i]);
		assert_int_equal(acme_order_parse(body, (size_t)n, &o), 0);
		assert_int_equal(o.status,
				 i == 0 ? ACME_ST_READY : ACME_ST_PROCESSING);
		assert_null(o.idents);
		acme_order_free(&o);
	}
}

#define ORD_TAIL ",\"finalize\":\"https://ca/f\"}"
#define ORD_IDS "\"identifiers\":[{\"type\":\"dns\",\"value\":\"a.test\"}]"

static void
test_order_bad(void **state)
{
	static const struct bad cases[] = {
	    {"{\"identifiers\":[],\"authorizations\":[]" ORD_TAIL, AD_EMALF},
	    {"{\"status\":\"done\"," ORD_IDS ",\"authorizations\":[]" ORD_TAIL,
	     AD_EMALF},
	    {"{\"status\":5," ORD_IDS ",\"authorizations\":[]" ORD_TAIL,
	     AD_EMALF},
	    {"{\"status\":\"pending\",\"authorizations\":[]" ORD_TAIL,
	     AD_EMALF},
	    {"{\"status\":\"pending\",\"identifiers\":{}," ORD_IDS
	     ",\"authorizations\":[]" ORD_TAIL,
	     AD_EMALF}, /* the first member of a name counts */
	    {"{\"status\":\"pending\"," ORD_IDS "}", AD_EMALF},
	    {"{\"status\":\"pending\"," ORD_IDS
	     ",\"authorizations\":[],\"finalize\":{}}",
	     AD_EMALF},
	    {"{\"status\":\"pending\"," ORD_IDS
	     ",\"authorizations\":\"https://ca/a\"" ORD_TAIL,
	     AD_EMALF},
	    {"{\"status\":\"pending\"," ORD_IDS
	     ",\"authorizations\":[\"https://ca/a\",\"ca/b\"]" ORD_TAIL,
	     AD_EMALF},
	    {"{\"status\":\"pending\"," ORD_IDS
	     ",\"authorizations\":[\"https://ca/a\",1]" ORD_TAIL,
	     AD_EMALF},
	    {"{\"status\":\"pending\",\"identifiers\":[{\"type\":\"dns\"}],"
	     "\"authorizations\":[]" ORD_TAIL,
	     AD_EMALF},
	    {"{\"status\":\"pending\",\"identifiers\":[{\"type\":\"dns\","
	     "\"value\":\"a\"},{\"value\":\"b\"}],"
	     "\"authorizations\":[]" ORD_TAIL,
	     AD_EMALF},
	    {"{\"status\":\"pending\",\"identifiers\":[\"a.test\"],"
	     "\"authorizations\":[]" ORD_TAIL,
	     AD_EMALF},
	    {"{\"status\":\"pending\",\"identifiers\":[{\"type\":\"dns\","
	     "\"value\":5}],\"authorizations\":[]" ORD_TAIL,
	     AD_EMALF},
	    {"{\"status\":\"pending\",\"expires\":\"tomorrow\"," ORD_IDS
	     ",\"authorizations\":[]" ORD_TAIL,
	     AD_EMALF},
	    {"{\"status\":\"pending\",\"expires\":1796205600," ORD_IDS
	     ",\"authorizations\":[]" ORD_TAIL,
	     AD_EMALF},
	    {"{\"status\":\"valid\"," ORD_IDS ",\"authorizations\":[],"
	     "\"certificate\":\"https://ca/c\\n\"" ORD_TAIL,
	     AD_EMALF},
	    {"{\"status\":\"pending\"," ORD_IDS ",\"authorizations\":[],"
	     "\"profile\":[]" ORD_TAIL,
	     AD_EMALF},
	    {"{\"status\":\"invalid\"," ORD_IDS ",\"authorizations\":[],"
	     "\"error\":\"boom\"" ORD_TAIL,
	     AD_EMALF},
	    {"{\"status\":\"invalid\"," ORD_IDS ",\"authorizations\":[],"
	     "\"error\":{\"type\":\"urn:ietf:params:acme:error:x\","
	     "\"status\":\"400\"}" ORD_TAIL,
	     AD_EMALF},
	    {"{\"status\":\"invalid\"," ORD_IDS ",\"authorizations\":[],"
	     "\"error\":{\"subproblems\":[{\"type\":1}]}" ORD_TAIL,
	     AD_EMALF},
	    {"{\"status\":\"pending\"," ORD_IDS ",\"authorizations\":[]"
	     ",\"finalize\":\"https://ca/f\"",
	     AD_EMALF}, /* truncated */
	};
	(void)state;
	EXPECT_BAD_ALL(struct acme_order, acme_order_parse, cases);
}

static void
test_order_lists(void **state)
{
	struct acme_order o;
	struct gbuf g = {0};
	(void)state;

	for (int n = 1000; n <= 1001; n++) {
		g.len = 0;
		gput(&g, "{\"status\":\"pending\",\"identifiers\":[");
		for (int i = 0; i < n; i++)
			gput(&g, i ? ",{\"type\":\"dns\",\"value\":\"x\"}"
				   : "{\"type\":\"dns\",\"value\":\"x\"}");
		gput(&g, "],\"authorizations\":[");
		for (int i = 0; i < n; i++)
			gput(&g, i ? ",\"https://ca/a\"" : "\"https://ca/a\"");
		gput(&g, "]" ORD_TAIL);
		int r = acme_order_parse(g.s, g.len, &o);
		if (n == 1000) {
			assert_int_equal(r, 0);
			assert_int_equal(o.nidents, 1000);
			assert_int_equal(o.nauthzs, 1000);
			acme_order_free(&o);
		} else {
			assert_int_equal(r, AD_ELIMIT);
			assert_zeroed(&o);
		}
	}
	/* only authorizations over the cap */
	g.len = 0;
	gput(&g, "{\"status\":\"pending\"," ORD_IDS ",\"authorizations\":[");
	for (int i = 0; i < 5000; i++)
		gput(&g, i ? ",\"https://ca/a\"" : "\"https://ca/a\"");
	gput(&g, "]" ORD_TAIL);
	assert_int_equal(acme_order_parse(g.s, g.len, &o), AD_ELIMIT);
	assert_zeroed(&o);
	/* an error with too many subproblems */
	g.len = 0;
	gput(&g, "{\"status\":\"invalid\"," ORD_IDS ",\"authorizations\":[],"
		 "\"error\":{\"subproblems\":[");
	for (int i = 0; i < 1001; i++)
		gput(&g, i ? ",{}" : "{}");
	gput(&g, "]}" ORD_TAIL);
	assert_int_equal(acme_order_parse(g.s, g.len, &o), AD_ELIMIT);
	assert_zeroed(&o);
	free(g.s);
}

/* ---- authorizations and challenges ------------------------------------ */

static void
test_authz_shapes(void **state)
{
	struct acme_authz a;
	const struct acme_challenge *c;
	(void)state;

	char *b = exact(S(pebble_authz));
	assert_int_equal(acme_authz_parse(b, sizeof(pebble_authz) - 1, &a), 0);
	free(b);
	assert_string_equal(a.ident.type, "dns");
	assert_string_equal(a.ident.value, "example.test");
	assert_int_equal(a.status, ACME_ST_PENDING);
	/* 11:00+01:00 is 10:00Z */
	assert_int_equal(a.expires, 1796119200);
	assert_false(a.wildcard);
	assert_int_equal(a.nchallenges, 3);
	assert_string_equal(a.challenges[0].type, "tls-alpn-01");
	assert_string_equal(a.challenges[1].type, "http-01");
	c = acme_authz_dns01(&a);
	assert_ptr_equal(c, &a.challenges[2]);
	assert_string_equal(c->url, "https://127.0.0.1:14000/chalZ/ccc");
	assert_string_equal(c->token,
			    "evaGxfADs6pSRb2LAv9IZf17Dt3juxGJ-PCt92wr-oA");
	assert_int_equal(c->status, ACME_ST_PENDING);
	assert_int_equal(c->validated, 0);
	assert_false(c->has_error);
	acme_authz_free(&a);
	assert_zeroed(&a);

	assert_int_equal(acme_authz_parse(S(le_authz_wild), &a), 0);
	assert_true(a.wildcard);
	assert_int_equal(a.status, ACME_ST_VALID);
	assert_int_equal(a.expires, 1798761599);
	c = acme_authz_dns01(&a);
	assert_non_null(c);
	assert_int_equal(c->status, ACME_ST_VALID);
	assert_int_equal(c->validated, 1796119203);
	assert_string_equal(c->token, "DGyRejmCefe7v4NfDGDKfA");
	acme_authz_free(&a);

	/* deactivated/expired/revoked authzs and no dns-01 at all */
	const char http_only[] =
	    "{\"identifier\":{\"type\":\"dns\",\"value\":\"x.test\"},"
	    "\"status\":\"expired\",\"challenges\":[{\"type\":\"http-01\","
	    "\"url\":\"https://ca/c\",\"token\":\"abc\","
	    "\"status\":\"pending\"}]}";
	assert_int_equal(acme_authz_parse(S(http_only), &a), 0);
	assert_int_equal(a.status, ACME_ST_EXPIRED);
	assert_null(acme_authz_dns01(&a));
	acme_authz_free(&a);
	assert_null(acme_authz_dns01(NULL));

	/* unknown types keep what is well-formed and drop the rest; an
	 * empty challenge list is allowed */
	const char odd[] =
	    "{\"identifier\":{\"type\":\"ip\",\"value\":\"192.0.2.1\"},"
	    "\"status\":\"deactivated\",\"challenges\":["
	    "{\"type\":\"dns-persist-01\",\"url\":\"https://ca/p\","
	    "\"status\":\"pending\",\"issuer-domain-names\":[\"ca.test\"]},"
	    "{\"type\":\"future-99\",\"url\":\"gopher://x\",\"token\":7,"
	    "\"status\":\"weird\",\"validated\":\"never\",\"error\":3},"
	    "{\"type\":\"x-02\",\"token\":\"a.b\",\"error\":{\"type\":"
	    "\"urn:ietf:params:acme:error:connection\"}},"
	    "{\"type\":\"dns-01\",\"url\":\"https://ca/d\",\"token\":"
	    "\"tok_-9\",\"status\":\"processing\"}]}";
	assert_int_equal(acme_authz_parse(S(odd), &a), 0);
	assert_int_equal(a.nchallenges, 4);
	assert_string_equal(a.challenges[0].url, "https://ca/p");
	assert_null(a.challenges[0].token);
	assert_int_equal(a.challenges[0].status, ACME_ST_PENDING);
	assert_null(a.challenges[1].url);
	assert_null(a.challenges[1].token);
	assert_int_equal(a.challenges[1].status, ACME_ST_UNKNOWN);
	assert_int_equal(a.challenges[1].validated, 0);
	assert_false(a.challenges[1].has_error);
	assert_null(a.challenges[2].token); /* '.' is not base64url */
	assert_true(a.challenges[2].has_error);
	assert_true(acme_problem_is(&a.challenges[2].error, "connection"));
	assert_ptr_equal(acme_authz_dns01(&a), &a.challenges[3]);
	assert_int_equal(a.challenges[3].status, ACME_ST_PROCESSING);
	acme_authz_free(&a);

	const char empty[] =
	    "{\"identifier\":{\"type\":\"dns\",\"value\":\"x\"},"
	    "\"status\":\"revoked\",\"challenges\":[]}";
	assert_int_equal(acme_authz_parse(S(empty), &a), 0);
	assert_int_equal(a.nchallenges, 0);
	assert_null(a.challenges);
	acme_authz_free(&a);
}

#define AZ_HEAD                                                                \
	"{\"identifier\":{\"type\":\"dns\",\"value\":\"x.test\"},"             \
	"\"status\":\"pending\","
#define CH_OK                                                                  \
	"{\"type\":\"dns-01\",\"url\":\"https://ca/c\",\"token\":\"tok\","     \
	"\"status\":\"pending\"}"

static void
test_authz_bad(void **state)
{
	static const struct bad cases[] = {
	    {"{\"status\":\"pending\",\"challenges\":[]}", AD_EMALF},
	    {"{\"identifier\":\"x.test\",\"status\":\"pending\","
	     "\"challenges\":[]}",
	     AD_EMALF},
	    {"{\"identifier\":{\"value\":\"x\"},\"status\":\"pending\","
	     "\"challenges\":[]}",
	     AD_EMALF},
	    {"{\"identifier\":{\"type\":\"dns\",\"value\":\"x\"},"
	     "\"challenges\":[]}",
	     AD_EMALF},
	    {AZ_HEAD "\"challenges\":{}}", AD_EMALF},
	    {AZ_HEAD "\"challenges\":[" CH_OK ",\"dns-01\"]}", AD_EMALF},
	    {AZ_HEAD "\"challenges\":[{\"url\":\"https://ca/c\"}]}", AD_EMALF},
	    {AZ_HEAD "\"challenges\":[{\"type\":1}]}", AD_EMALF},
	    {AZ_HEAD "\"wildcard\":\"true\",\"challenges\":[" CH_OK "]}",
	     AD_EMALF},
	    {AZ_HEAD "\"expires\":\"2026-13-01T00:00:00Z\","
		     "\"challenges\":[" CH_OK "]}",
	     AD_EMALF},
	    /* dns-01 is strict */
	    {AZ_HEAD "\"challenges\":[{\"type\":\"dns-01\",\"url\":"
		     "\"https://ca/c\",\"status\":\"pending\"}]}",
	     AD_EMALF},
	    {AZ_HEAD "\"challenges\":[{\"type\":\"dns-01\",\"url\":"
		     "\"https://ca/c\",\"token\":\"\",\"status\":"
		     "\"pending\"}]}",
	     AD_EMALF},
	    {AZ_HEAD "\"challenges\":[{\"type\":\"dns-01\",\"url\":"
		     "\"https://ca/c\",\"token\":\"a+b/c=\",\"status\":"
		     "\"pending\"}]}",
	     AD_EMALF},
	    {AZ_HEAD "\"challenges\":[{\"type\":\"dns-01\",\"url\":"
		     "\"https://ca/c\",\"token\":\"../x\",\"status\":"
		     "\"pending\"}]}",
	     AD_EMALF},
	    {AZ_HEAD "\"challenges\":[{\"type\":\"dns-01\",\"url\":"
		     "\"https://ca/c\",\"token\":[],\"status\":"
		     "\"pending\"}]}",
	     AD_EMALF},
	    {AZ_HEAD "\"challenges\":[{\"type\":\"dns-01\",\"token\":"
		     "\"t\",\"status\":\"pending\"}]}",
	     AD_EMALF},
	    {AZ_HEAD "\"challenges\":[{\"type\":\"dns-01\",\"url\":"
		     "\"ldap://ca/c\",\"token\":\"t\",\"status\":"
		     "\"pending\"}]}",
	     AD_EMALF},
	    {AZ_HEAD "\"challenges\":[{\"type\":\"dns-01\",\"url\":"
		     "\"https://ca/c\",\"token\":\"t\"}]}",
	     AD_EMALF},
	    {AZ_HEAD "\"challenges\":[{\"type\":\"dns-01\",\"url\":"
		     "\"https://ca/c\",\"token\":\"t\",\"status\":"
		     "\"PENDING\"}]}",
	     AD_EMALF},
	    {AZ_HEAD "\"challenges\":[{\"type\":\"dns-01\",\"url\":"
		     "\"https://ca/c\",\"token\":\"t\",\"status\":"
		     "\"invalid\",\"error\":[]}]}",
	     AD_EMALF},
	    {AZ_HEAD "\"challenges\":[{\"type\":\"dns-01\",\"url\":"
		     "\"https://ca/c\",\"token\":\"t\",\"status\":"
		     "\"valid\",\"validated\":\"2026-12-01 10:00:00Z\"}]}",
	     AD_EMALF},
	    {AZ_HEAD "\"challenges\":[{\"type\":\"dns-01\",\"url\":"
		     "\"https://ca/c\",\"token\":\"t\\u0000x\",\"status\":"
		     "\"pending\"}]}",
	     AD_EMALF},
	};
	struct acme_authz a;
	(void)state;
	EXPECT_BAD_ALL(struct acme_authz, acme_authz_parse, cases);

	/* "ready" is an order status, odd in an authz, but it is a known
	 * status and the message is otherwise well-formed */
	assert_int_equal(
	    acme_authz_parse(
		S("{\"identifier\":{\"type\":\"dns\",\"value\":"
		  "\"x\"},\"status\":\"ready\",\"challenges\":[]}"),
		&a),
	    0);
	assert_int_equal(a.status, ACME_ST_READY);
	acme_authz_free(&a);
}

static void
test_token_length(void **state)
{
	struct acme_challenge c;
	struct gbuf g = {0};
	(void)state;

	for (int n = 255; n <= 257; n++) {
		g.len = 0;
		gput(&g, "{\"type\":\"dns-01\",\"url\":\"https://ca/c\","
			 "\"status\":\"pending\",\"token\":\"");
		for (int i = 0; i < n; i++)
			gput(&g, "A");
		gput(&g, "\"}");
		int r = acme_challenge_parse(g.s, g.len, &c);
		assert_int_equal(r, n <= 256 ? 0 : AD_EMALF);
		if (r == 0)
			assert_int_equal(strlen(c.token), n);
		else
			assert_zeroed(&c);
		acme_challenge_free(&c);
	}
	/* too many challenges */
	g.len = 0;
	gput(&g, AZ_HEAD "\"challenges\":[");
	for (int i = 0; i < 1001; i++)
		gput(&g, i ? "," CH_OK : CH_OK);
	gput(&g, "]}");
	struct acme_authz a;
	assert_int_equal(acme_authz_parse(g.s, g.len, &a), AD_ELIMIT);
	assert_zeroed(&a);
	free(g.s);
}

static void
test_challenge(void **state)
{
	struct acme_challenge c;
	char sum[256];
	(void)state;

	assert_int_equal(acme_challenge_parse(S(le_chall_invalid), &c), 0);
	assert_string_equal(c.type, "dns-01");
	assert_int_equal(c.status, ACME_ST_INVALID);
	assert_int_equal(c.validated, 1796119203);
	assert_true(c.has_error);
	assert_int_equal(c.error.status, 403);
	acme_problem_summary(&c.error, sum, sizeof(sum));
	assert_string_equal(sum, "unauthorized: Incorrect TXT record \"abc\" "
				 "found at _acme-challenge.example.com");
	acme_challenge_free(&c);
	assert_zeroed(&c);

	/* Pebble's response to the challenge POST */
	const char pb[] =
	    "{\n   \"type\": \"dns-01\",\n   \"url\": "
	    "\"https://127.0.0.1:14000/chalZ/ccc\",\n   \"token\": "
	    "\"evaGxfADs6pSRb2LAv9IZf17Dt3juxGJ-PCt92wr-oA\",\n"
	    "   \"status\": \"processing\"\n}";
	assert_int_equal(acme_challenge_parse(S(pb), &c), 0);
	assert_int_equal(c.status, ACME_ST_PROCESSING);
	acme_challenge_free(&c);

	/* a standalone unknown challenge needs only its type */
	const char unk[] = "{\"type\":\"http-01\"}";
	assert_int_equal(acme_challenge_parse(S(unk), &c), 0);
	assert_null(c.url);
	acme_challenge_free(&c);
	const char notype[] = "{\"url\":\"https://ca/c\"}";
	assert_int_equal(acme_challenge_parse(S(notype), &c), AD_EMALF);
	assert_zeroed(&c);
	assert_int_equal(acme_challenge_parse(S("[]"), &c), AD_EMALF);
	assert_zeroed(&c);
}

/* ---- problems ---------------------------------------------------------- */

static void
test_problem_parse(void **state)
{
	struct acme_problem p;
	char sum[512];
	(void)state;

	const char rl[] =
	    "{\n  \"type\": \"urn:ietf:params:acme:error:rateLimited\",\n"
	    "  \"detail\": \"too many certificates (5) already issued for "
	    "this exact set of identifiers in the last 168h0m0s, retry "
	    "after 2026-12-02 10:00:00 UTC: see https://letsencrypt.org/"
	    "docs/rate-limits/#new-certificates-per-exact-set-of-"
	    "hostnames\",\n  \"status\": 429\n}";
	assert_int_equal(acme_problem_parse(S(rl), &p), 0);
	assert_true(acme_problem_is(&p, "rateLimited"));
	assert_false(acme_problem_is(&p, "rateLimite"));
	assert_false(acme_problem_is(&p, "badNonce"));
	assert_false(acme_problem_is(&p, NULL));
	assert_int_equal(p.status, 429);
	assert_int_equal(p.nsub, 0);
	assert_null(p.sub);
	acme_problem_free(&p);
	assert_zeroed(&p);

	/* Pebble's badNonce */
	const char bn[] = "{\n   \"type\": \"urn:ietf:params:acme:error:"
			  "badNonce\",\n   \"detail\": \"JWS has an invalid "
			  "anti-replay nonce: \\\"abc\\\"\",\n   \"status\": "
			  "400\n}";
	assert_int_equal(acme_problem_parse(S(bn), &p), 0);
	assert_true(acme_problem_is(&p, "badNonce"));
	assert_string_equal(p.detail,
			    "JWS has an invalid anti-replay nonce: \"abc\"");
	acme_problem_free(&p);

	assert_int_equal(acme_problem_parse(S(le_problem_subs), &p), 0);
	assert_true(acme_problem_is(&p, "rejectedIdentifier"));
	assert_int_equal(p.nsub, 2);
	assert_string_equal(p.sub[0], "malformed: Domain name contains an "
				      "invalid character (bad..example.com)");
	assert_string_equal(p.sub[1], "caa: CAA record forbids issuance "
				      "(caa.example.com)");
	assert_null(p.sub[2]);
	acme_problem_summary(&p, sum, sizeof(sum));
	assert_string_equal(
	    sum, "rejectedIdentifier: Error creating new order :: Cannot "
		 "issue for \"bad..example.com\": Domain name contains an "
		 "invalid character [malformed: Domain name contains an "
		 "invalid character (bad..example.com); caa: CAA record "
		 "forbids issuance (caa.example.com)]");
	acme_problem_free(&p);

	/* RFC 7807: every member is optional; foreign types stay as is;
	 * subproblems with missing parts */
	const char bare[] =
	    "{\"type\":\"about:blank\",\"title\":\"Not Found\","
	    "\"status\":404.0,\"subproblems\":[{},{\"detail\":\"d\"},"
	    "{\"type\":\"t\",\"identifier\":{\"type\":\"dns\"}},"
	    "{\"identifier\":{\"value\":\"v\"}}]}";
	assert_int_equal(acme_problem_parse(S(bare), &p), 0);
	assert_false(acme_problem_is(&p, "blank"));
	assert_int_equal(p.status, 404);
	assert_null(p.detail);
	assert_string_equal(p.sub[0], "error");
	assert_string_equal(p.sub[1], "error: d");
	assert_string_equal(p.sub[2], "t");
	assert_string_equal(p.sub[3], "error (v)");
	acme_problem_free(&p);

	assert_int_equal(acme_problem_parse(S("{}"), &p), 0);
	assert_null(p.type);
	acme_problem_summary(&p, sum, sizeof(sum));
	assert_string_equal(sum, "error");
	acme_problem_free(&p);

	static const char *const bad[] = {
	    "{\"type\":5}",
	    "{\"detail\":{}}",
	    "{\"status\":\"429\"}",
	    "{\"status\":429.5}",
	    "{\"status\":-1}",
	    "{\"status\":1000}",
	    "{\"status\":1e300}",
	    "{\"status\":true}",
	    "{\"subproblems\":{}}",
	    "{\"subproblems\":[\"x\"]}",
	    "{\"subproblems\":[{\"detail\":1}]}",
	    "{\"subproblems\":[{},{\"identifier\":\"x\"}]}",
	    "{\"subproblems\":[{\"identifier\":{\"value\":[]}}]}",
	    "{\"detail\":\"a\\u0000b\"}",
	    "{\"detail\":\"unterminated}",
	    "\"urn:ietf:params:acme:error:badNonce\"",
	};
	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++)
		EXPECT_BAD(struct acme_problem, acme_problem_parse, i, bad[i],
			   AD_EMALF);
	assert_false(acme_problem_is(NULL, "badNonce"));
}

static void
test_problem_summary(void **state)
{
	struct acme_problem p = {0};
	char buf[64];
	(void)state;

	/* no problem at all, and tiny buffers */
	acme_problem_summary(NULL, buf, sizeof(buf));
	assert_string_equal(buf, "");
	acme_problem_summary(&p, buf, 0); /* must not write */
	memset(buf, 'x', sizeof(buf));
	acme_problem_summary(&p, buf, 1);
	assert_string_equal(buf, "");

	p.type = "urn:ietf:params:acme:error:serverInternal";
	p.detail = "line1\nline2\ttab\x7f\x1b[31m";
	acme_problem_summary(&p, buf, sizeof(buf));
	assert_string_equal(buf, "serverInternal: line1?line2?tab??[31m");

	/* exact fit, one byte short, and tiny caps */
	p.type = "urn:ietf:params:acme:error:abc";
	p.detail = "0123456789";
	/* "abc: 0123456789" is 15 bytes */
	acme_problem_summary(&p, buf, 16);
	assert_string_equal(buf, "abc: 0123456789");
	acme_problem_summary(&p, buf, 15);
	assert_string_equal(buf, "abc: 012345...");
	acme_problem_summary(&p, buf, 4);
	assert_string_equal(buf, "...");
	acme_problem_summary(&p, buf, 3);
	assert_string_equal(buf, "..");
	acme_problem_summary(&p, buf, 5);
	assert_string_equal(buf, "a...");
	for (size_t cap = 1; cap < sizeof(buf); cap++) {
		memset(buf, 'z', sizeof(buf));
		acme_problem_summary(&p, buf, cap);
		assert_true(strlen(buf) < cap);
		assert_int_equal(buf[cap - 1 < 15 ? cap - 1 : 15], '\0');
	}

	/* UTF-8 is kept whole, never cut in the middle of a character;
	 * invalid bytes become '?' */
	p.detail = "caf\xc3\xa9 \xe2\x82\xac\xe2\x82\xac \xff\xc3(";
	acme_problem_summary(&p, buf, sizeof(buf));
	assert_string_equal(buf, "abc: caf\xc3\xa9 \xe2\x82\xac\xe2\x82\xac "
				 "?\?(");
	/* "abc: caf" is 8 bytes, the é 2 more: cap 13 keeps 9 -> backs up */
	acme_problem_summary(&p, buf, 13);
	assert_string_equal(buf, "abc: caf...");
	acme_problem_summary(&p, buf, 14);
	assert_string_equal(buf, "abc: caf\xc3\xa9...");
	for (size_t cap = 1; cap < sizeof(buf); cap++) {
		acme_problem_summary(&p, buf, cap);
		size_t n = strlen(buf);
		assert_true(n < cap);
		/* never ends with a lead byte or inside a sequence before
		 * the dots */
		if (n >= 4 && strcmp(buf + n - 3, "...") == 0)
			assert_true(((unsigned char)buf[n - 4] & 0xc0) !=
					0xc0 &&
				    ((unsigned char)buf[n - 4] < 0x80 ||
				     (unsigned char)buf[n - 4] == 0xa9 ||
				     (unsigned char)buf[n - 4] == 0xac));
	}
	/* a sequence cut by the end of the string */
	p.detail = "x\xe2\x82";
	acme_problem_summary(&p, buf, sizeof(buf));
	assert_string_equal(buf, "abc: x?\?");
	p.detail = "\xe0\x80\x80\xf0\x80\x80\x80";
	acme_problem_summary(&p, buf, sizeof(buf));
	assert_string_equal(buf, "abc: ???????");
	/* overlong, surrogate and above-U+10FFFF encodings */
	p.detail = "\xc0\xaf\xed\xa0\x80\xf4\x90\x80\x80";
	acme_problem_summary(&p, buf, sizeof(buf));
	assert_string_equal(buf, "abc: ?????????");

	/* subproblems cut with dots */
	char *subs[] = {"malformed: x (a.test)", "caa: y (b.test)", NULL};
	p.detail = "d";
	p.sub = subs;
	p.nsub = 2;
	acme_problem_summary(&p, buf, sizeof(buf));
	assert_string_equal(buf, "abc: d [malformed: x (a.test); caa: y "
				 "(b.test)]");
	acme_problem_summary(&p, buf, 20);
	assert_string_equal(buf, "abc: d [malforme...");
	assert_int_equal(strlen(buf), 19);

	/* a non-ACME type is shown whole */
	p.type = "https://example.com/probs/out-of-credit";
	p.sub = NULL;
	p.nsub = 0;
	acme_problem_summary(&p, buf, sizeof(buf));
	assert_string_equal(buf, "https://example.com/probs/out-of-credit: d");
}

/* ---- renewalInfo ------------------------------------------------------- */

static void
test_renewal_info(void **state)
{
	struct acme_renewal_info ri;
	(void)state;

	/* RFC 9773 §4.2 example shape */
	const char le[] =
	    "{\n  \"suggestedWindow\": {\n    \"start\": "
	    "\"2026-12-20T00:00:00Z\",\n    \"end\": "
	    "\"2026-12-22T00:00:00Z\"\n  },\n  \"explanationURL\": "
	    "\"https://acme.example.com/docs/ari\"\n}";
	assert_int_equal(acme_renewal_info_parse(S(le), &ri), 0);
	assert_int_equal(ri.start, 1797724800);
	assert_int_equal(ri.end, 1797897600);
	assert_string_equal(ri.explanation_url,
			    "https://acme.example.com/docs/ari");
	acme_renewal_info_free(&ri);
	assert_zeroed(&ri);

	const char eq[] = "{\"suggestedWindow\":{\"start\":"
			  "\"2026-12-20T00:00:00.999Z\",\"end\":"
			  "\"2026-12-20T01:00:00+01:00\"}}";
	assert_int_equal(acme_renewal_info_parse(S(eq), &ri), 0);
	assert_int_equal(ri.start, ri.end);
	assert_null(ri.explanation_url);
	acme_renewal_info_free(&ri);

	static const char *const bad[] = {
	    "{}",
	    "{\"suggestedWindow\":[]}",
	    "{\"suggestedWindow\":{\"start\":\"2026-12-20T00:00:00Z\"}}",
	    "{\"suggestedWindow\":{\"end\":\"2026-12-20T00:00:00Z\"}}",
	    "{\"suggestedWindow\":{\"start\":\"2026-12-22T00:00:00Z\","
	    "\"end\":\"2026-12-20T00:00:00Z\"}}",
	    "{\"suggestedWindow\":{\"start\":1798156800,"
	    "\"end\":1798329600}}",
	    "{\"suggestedWindow\":{\"start\":\"2026-12-20\","
	    "\"end\":\"2026-12-22\"}}",
	    "{\"suggestedWindow\":{\"start\":\"2026-12-20T00:00:00Z\","
	    "\"end\":\"2026-12-22T00:00:00Z\"},\"explanationURL\":1}",
	    "{\"suggestedWindow\":{\"start\":\"2026-12-20T00:00:00Z\","
	    "\"end\":\"2026-12-22T00:00:00Z\"},\"explanationURL\":"
	    "\"javascript:alert(1)\"}",
	};
	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++)
		EXPECT_BAD(struct acme_renewal_info, acme_renewal_info_parse, i,
			   bad[i], AD_EMALF);
}

/* ---- RFC 3339 ---------------------------------------------------------- */

static void
test_time(void **state)
{
	static const struct {
		const char *s;
		int64_t want;
	} good[] = {
	    {"2026-12-01T10:00:00Z", 1796119200},
	    {"2026-12-01t10:00:00z", 1796119200},
	    {"2026-12-01T10:00:00.123456789Z", 1796119200},
	    {"2026-12-01T10:00:00.9Z", 1796119200},
	    {"2026-12-01T12:00:00+02:00", 1796119200},
	    {"2026-12-01T05:30:00-04:30", 1796119200},
	    {"2026-12-01T10:00:00.5-00:00", 1796119200},
	    {"1970-01-01T00:00:00Z", 0},
	    {"1969-12-31T23:59:59Z", -1},
	    {"2000-02-29T00:00:00Z", 951782400},
	    {"2024-02-29T23:59:59Z", 1709251199},
	    {"1990-12-31T23:59:60Z", 662688000}, /* RFC 3339 §5.8 */
	    {"9999-12-31T23:59:59Z", 253402300799},
	    {"0001-01-01T00:00:00Z", -62135596800},
	    {"2026-12-01T00:30:00+23:59", 1795998660},
	};
	static const char *const bad[] = {
	    "",
	    "2026-12-01",
	    "2026-12-01T10:00:00",
	    "2026-12-01T10:00Z",
	    "2026-12-01 10:00:00Z",
	    "2026-12-01T10:00:00ZZ",
	    "2026-12-01T10:00:00.Z",
	    "2026-12-01T10:00:00,5Z",
	    "2026-12-01T10:00:00+0200",
	    "2026-12-01T10:00:00+02",
	    "2026-12-01T10:00:00+02:00:00",
	    "2026-12-01T10:00:00+24:00",
	    "2026-12-01T10:00:00+02:60",
	    "2026-13-01T10:00:00Z",
	    "2026-00-01T10:00:00Z",
	    "2026-12-00T10:00:00Z",
	    "2026-11-31T10:00:00Z",
	    "2025-02-29T10:00:00Z",
	    "1900-02-29T10:00:00Z",
	    "2026-12-01T24:00:00Z",
	    "2026-12-01T10:60:00Z",
	    "2026-12-01T10:00:61Z",
	    "+2026-12-01T10:00:00Z",
	    "26-12-01T10:00:00Z",
	    "2026-1-01T10:00:00Z",
	    "2026-12-01T10:00:00 Z",
	    " 2026-12-01T10:00:00Z",
	    "2026-12-01T10:00:00Z ",
	    "2026-12-01T1a:00:00Z",
	    "2026/12/01T10:00:00Z",
	    /* 71 bytes: over the 64-byte cap */
	    ("2026-12-01T10:00:00."
	     "12345678901234567890123456789012345678901234567890Z"),
	    "Tue, 01 Dec 2026 10:00:00 GMT",
	    "1796119200",
	    "2026-12-01T10:00:00.123",
	};
	int64_t t;
	(void)state;

	for (size_t i = 0; i < sizeof(good) / sizeof(good[0]); i++) {
		size_t n = strlen(good[i].s);
		char *b = exact(good[i].s, n);
		int r = acme_time_parse(b, n, &t);
		free(b);
		if (r != 0 || t != good[i].want)
			fail_msg("%s: r=%d t=%lld want %lld", good[i].s, r,
				 (long long)t, (long long)good[i].want);
	}
	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		size_t n = strlen(bad[i]);
		char *b = exact(bad[i], n);
		t = 42;
		int r = acme_time_parse(b, n, &t);
		free(b);
		if (r != AD_EMALF || t != 0)
			fail_msg("%s: r=%d t=%lld", bad[i], r, (long long)t);
	}
	/* len bounds the text: a longer buffer is not looked at */
	assert_int_equal(acme_time_parse("2026-12-01T10:00:00Zjunk", 20, &t),
			 0);
	assert_int_equal(t, 1796119200);
	assert_int_equal(acme_time_parse("2026-12-01T10:00:00Z", 19, &t),
			 AD_EMALF);
	assert_int_equal(acme_time_parse(NULL, 20, &t), AD_EMALF);
	/* 9 fractional digits plus an offset still fits the length cap */
	assert_int_equal(acme_time_parse(S("2026-12-01T10:00:00.123456789+"
					   "00:00"),
					 &t),
			 0);
}

/* ---- Retry-After ------------------------------------------------------- */

static void
test_retry_after(void **state)
{
	/* Tue, 01 Dec 2026 10:00:00 GMT */
	const int64_t now = 1796119200;
	static const struct {
		const char *s;
		int64_t want;
	} good[] = {
	    {"0", 0},
	    {"1", 1},
	    {"120", 120},
	    {" 120\t", 120},
	    {"0000000000000000000000000000060", 60},
	    {"86400", 86400},
	    {"86401", 86400},
	    {"999999999999999999999999999999999999", 86400},
	    {"Tue, 01 Dec 2026 10:01:00 GMT", 60},
	    {"Tue, 01 Dec 2026 10:00:00 GMT", 0},
	    {"Tue, 01 Dec 2026 09:00:00 GMT", 0},
	    {"Sun, 06 Nov 1994 08:49:37 GMT", 0},
	    {"Wed, 02 Dec 2026 10:00:00 GMT", 86400},
	    {"Fri, 01 Jan 2027 00:00:00 GMT", 86400},
	    {"Tue, 01 Dec 2026 10:00:30 GMT  ", 30},
	    /* obsolete forms (RFC 9110 §5.6.7: MUST accept) */
	    {"Tuesday, 01-Dec-26 10:02:00 GMT", 120},
	    {"Sunday, 06-Nov-94 08:49:37 GMT", 0},
	    {"Tue Dec  1 10:00:05 2026", 5},
	    {"Tue Dec 01 10:00:05 2026", 5},
	};
	static const char *const bad[] = {
	    "",
	    "   ",
	    "-5",
	    "+5",
	    "1.5",
	    "12a",
	    "0x10",
	    "120 s",
	    "Tue, 01 Dec 2026 10:01:00 UTC",
	    "Tue, 01 Dec 2026 10:01:00 gmt",
	    "tue, 01 Dec 2026 10:01:00 GMT",
	    "Tue, 01 dec 2026 10:01:00 GMT",
	    "Tue, 1 Dec 2026 10:01:00 GMT",
	    "Tue, 31 Nov 2026 10:01:00 GMT",
	    "Tue, 01 Dec 2026 25:01:00 GMT",
	    "Tue, 01 Dec 2026 10:01 GMT",
	    "Tue 01 Dec 2026 10:01:00 GMT",
	    "Xyz, 01 Dec 2026 10:01:00 GMT",
	    "Tue, 01 Dec 2026 10:01:00 GMTX",
	    "Tuesday, 01-Dec-2026 10:02:00 GMT",
	    "Tues, 01-Dec-26 10:02:00 GMT",
	    "Tue Dec 1 10:00:05 2026",
	    "Tue Dec  x 10:00:05 2026",
	    "Tue Dec x1 10:00:05 2026",
	    "Tue Dec 01 10:00:05 20x6",
	    "Tue Dec 01 10:00:05\t2026",
	    "Tuesday, 01-Dec-26 10:02:00 UTC",
	    "Tuesday, 31-Nov-26 10:02:00 GMT",
	    "2026-12-01T10:00:00Z",
	};
	int64_t d;
	(void)state;

	for (size_t i = 0; i < sizeof(good) / sizeof(good[0]); i++) {
		size_t n = strlen(good[i].s);
		char *b = exact(good[i].s, n);
		int r = acme_retry_after_parse(b, n, now, &d);
		free(b);
		if (r != 0 || d != good[i].want)
			fail_msg("'%s': r=%d d=%lld want %lld", good[i].s, r,
				 (long long)d, (long long)good[i].want);
	}
	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		size_t n = strlen(bad[i]);
		char *b = exact(bad[i], n);
		d = 7;
		int r = acme_retry_after_parse(b, n, now, &d);
		free(b);
		if (r != AD_EMALF || d != 0)
			fail_msg("'%s': r=%d d=%lld", bad[i], r, (long long)d);
	}
	/* RFC 850 two-digit years: 2076-01-01 is less than 50 years
	 * ahead, so it stays 2076; 2077-01-01 is more, so it is 1977 */
	assert_int_equal(acme_retry_after_parse(
			     S("Wednesday, 01-Jan-76 00:00:00 GMT"), now, &d),
			 0);
	assert_int_equal(d, 86400);
	assert_int_equal(acme_retry_after_parse(
			     S("Friday, 01-Jan-77 00:00:00 GMT"), now, &d),
			 0);
	assert_int_equal(d, 0);
	/* len bounds the value */
	assert_int_equal(acme_retry_after_parse("12345", 2, now, &d), 0);
	assert_int_equal(d, 12);
	assert_int_equal(acme_retry_after_parse(NULL, 0, now, &d), AD_EMALF);
}

/* ---- Link -------------------------------------------------------------- */

struct links {
	char url[8][256];
	size_t n, stop_after;
};

static int
collect(void *arg, const char *url, size_t len)
{
	struct links *l = arg;
	assert_true(len < sizeof(l->url[0]));
	assert_true(l->n < 8);
	memcpy(l->url[l->n], url, len);
	l->url[l->n][len] = '\0';
	l->n++;
	return l->stop_after && l->n >= l->stop_after;
}

static int
links_of(const char *value, const char *rel, struct links *l)
{
	size_t n = strlen(value);
	char *b = exact(value, n);
	size_t stop = l->stop_after;
	memset(l, 0, sizeof(*l));
	l->stop_after = stop;
	int r = acme_link_each(b, n, rel, collect, l);
	free(b);
	return r;
}

static void
test_link(void **state)
{
	struct links l = {0};
	(void)state;

	/* Pebble / Boulder: index on every response, up on certificates,
	 * alternate for each alternate chain */
	const char cert[] =
	    "<https://127.0.0.1:14000/dir>;rel=\"index\", "
	    "<https://127.0.0.1:14000/certZ/abc/1>;rel=\"alternate\", "
	    "<https://127.0.0.1:14000/certZ/abc/2>;rel=\"alternate\"";
	assert_int_equal(links_of(cert, "alternate", &l), 2);
	assert_string_equal(l.url[0], "https://127.0.0.1:14000/certZ/abc/1");
	assert_string_equal(l.url[1], "https://127.0.0.1:14000/certZ/abc/2");
	assert_int_equal(links_of(cert, "index", &l), 1);
	assert_string_equal(l.url[0], "https://127.0.0.1:14000/dir");
	assert_int_equal(links_of(cert, "up", &l), 0);
	assert_int_equal(l.n, 0);

	/* bare rel, odd whitespace, several rels, case, other params
	 * before and after, empty list elements */
	const char mix[] =
	    " , <https://ca/a> ; title=\"x, y; z\" ;REL = \"ALTERNATE  "
	    "index\"\t; type=\"text/html\" ,, <https://ca/b>;rel=up,"
	    "<https://ca/c>; anchor=\"#x\"; rel=\"up\"; rel=\"alternate\""
	    ", <https://ca/d>;rel=\"al\\ternate\";foo";
	assert_int_equal(links_of(mix, "alternate", &l), 2);
	assert_string_equal(l.url[0], "https://ca/a");
	assert_string_equal(l.url[1], "https://ca/d"); /* quoted-pair */
	assert_int_equal(links_of(mix, "index", &l), 1);
	assert_int_equal(links_of(mix, "UP", &l), 2);
	assert_string_equal(l.url[0], "https://ca/b");
	assert_string_equal(l.url[1], "https://ca/c");
	assert_int_equal(links_of(mix, "alter", &l), 0);
	assert_int_equal(links_of(mix, "alternatex", &l), 0);

	/* the callback can stop the walk */
	l.stop_after = 1;
	assert_int_equal(links_of(cert, "alternate", &l), 1);
	assert_int_equal(l.n, 1);
	l.stop_after = 0;
	/* no callback: just count */
	assert_int_equal(acme_link_each(S(cert), "alternate", NULL, NULL), 2);

	/* whitespace inside a quoted rel may be a tab */
	assert_int_equal(links_of("<https://ca/t>; rel=\"next\tup\"", "up", &l),
			 1);
	assert_int_equal(links_of("", "up", &l), 0);
	assert_int_equal(links_of(" , ", "up", &l), 0);
	/* non-matching relative links are fine, matching ones are not */
	assert_int_equal(links_of("</dir>;rel=index", "up", &l), 0);

	static const char *const bad[] = {
	    "https://ca/a; rel=up",
	    "<https://ca/a; rel=up",
	    "<https://ca/a>; rel=\"up",
	    "<https://ca/a>; rel=\"up\\",
	    "<https://ca/a> rel=up",
	    "<https://ca/a>; =up",
	    "<https://ca/a>; rel=",
	    "<https://ca/a>; rel=up x",
	    "<https://ca/a>; rel=up; ",
	    "<https://ca/a>; rel=@",
	    "<https://ca/a>;; rel=up",
	    "<https://ca/a>, junk",
	    "<https://ca/a",
	    "<https://ca/a b>; rel=up",
	    "<https://ca/<a>; rel=up",
	    "<https://ca/a>; rel=\"u\x01p\"",
	    "</relative>; rel=up",
	    "<ftp://ca/a>; rel=up",
	    "<https://ca/ok>; rel=up, <x>; rel=\"up\" bad",
	};
	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		int r = links_of(bad[i], "up", &l);
		if (r != AD_EMALF || l.n != 0)
			fail_msg("'%s': r=%d n=%zu", bad[i], r, l.n);
	}
	/* NUL inside the value */
	const char nul[] = "<https://ca/a\0b>; rel=up";
	assert_int_equal(
	    acme_link_each(nul, sizeof(nul) - 1, "up", collect, &l), AD_EMALF);
	assert_int_equal(acme_link_each(S(cert), "", collect, &l), AD_EMALF);
	assert_int_equal(acme_link_each(NULL, 0, "up", collect, &l), AD_EMALF);

	/* target length cap */
	struct gbuf g = {0};
	gput(&g, "<https://ca/");
	while (g.len < 1 + ACME_MSG_MAX_URL)
		gput(&g, "x");
	gput(&g, ">; rel=up");
	assert_int_equal(acme_link_each(g.s, g.len, "up", NULL, NULL), 1);
	g.len = 0;
	gput(&g, "<https://ca/");
	while (g.len < 2 + ACME_MSG_MAX_URL)
		gput(&g, "x");
	gput(&g, ">; rel=up");
	assert_int_equal(acme_link_each(g.s, g.len, "up", NULL, NULL),
			 AD_EMALF);
	free(g.s);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_status),
	    cmocka_unit_test(test_directory_pebble),
	    cmocka_unit_test(test_directory_le),
	    cmocka_unit_test(test_directory_bad),
	    cmocka_unit_test(test_directory_edge),
	    cmocka_unit_test(test_directory_limits),
	    cmocka_unit_test(test_account),
	    cmocka_unit_test(test_order_shapes),
	    cmocka_unit_test(test_order_bad),
	    cmocka_unit_test(test_order_lists),
	    cmocka_unit_test(test_authz_shapes),
	    cmocka_unit_test(test_authz_bad),
	    cmocka_unit_test(test_token_length),
	    cmocka_unit_test(test_challenge),
	    cmocka_unit_test(test_problem_parse),
	    cmocka_unit_test(test_problem_summary),
	    cmocka_unit_test(test_renewal_info),
	    cmocka_unit_test(test_time),
	    cmocka_unit_test(test_retry_after),
	    cmocka_unit_test(test_link),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
