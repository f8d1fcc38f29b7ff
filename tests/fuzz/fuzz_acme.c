/* SPDX-License-Identifier: MIT */
/*
 * libFuzzer harness for everything the ACME engine reads from a CA:
 * acme/msg.c (directory, account, order, authorization, challenge, problem
 * document, renewalInfo, RFC 3339 times, Retry-After, Link) and the two
 * PEM readers of acme/pki.c (acme_chain_parse for issued chains,
 * acme_csr_parse for user CSRs). The first input byte selects the parser
 * (a letter for readable seeds, any other byte modulo the table size so
 * the fuzzer reaches all of them); the rest is the body, never
 * NUL-terminated. Invariants beyond "no sanitizer report, no leak": a
 * failed parse leaves its struct zeroed and returns AD_EMALF or
 * AD_ELIMIT; a successful one has its required members, lists within
 * ACME_MSG_MAX_LIST and NULL-terminated, URLs absolute http(s) within
 * ACME_MSG_MAX_URL; problem summaries fit their buffer and carry no
 * control characters; Retry-After delays stay within 0..86400; every Link
 * target lies inside the input and there are as many callbacks as the
 * returned count.
 */
#include "acme/msg.h"
#include "acme/pki.h"
#include "common/errors.h"

#include <openssl/evp.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <time.h>

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

/* A failed check is a crash, so libFuzzer keeps the input. */
#define CHECK(c)                                                               \
	do {                                                                   \
		if (!(c)) {                                                    \
			fprintf(stderr, "fuzz_acme: %s:%d: %s\n", __FILE__,    \
				__LINE__, #c);                                 \
			abort();                                               \
		}                                                              \
	} while (0)

static bool
zeroed(const void *p, size_t n)
{
	const unsigned char *b = p;
	for (size_t i = 0; i < n; i++)
		if (b[i])
			return false;
	return true;
}

/* The failure contract of every JSON parser. */
#define CHECK_FAIL(r, st)                                                      \
	do {                                                                   \
		CHECK((r) == AD_EMALF || (r) == AD_ELIMIT);                    \
		CHECK(zeroed((st), sizeof(*(st))));                            \
	} while (0)

static bool
url_valid(const char *u, size_t n)
{
	if (n > ACME_MSG_MAX_URL)
		return false;
	if (!(n > 8 && strncasecmp(u, "https://", 8) == 0) &&
	    !(n > 7 && strncasecmp(u, "http://", 7) == 0))
		return false;
	for (size_t i = 0; i < n; i++)
		if ((unsigned char)u[i] <= 0x20 || (unsigned char)u[i] >= 0x7f)
			return false;
	return true;
}

static bool
url_ok(const char *u)
{
	return u && url_valid(u, strlen(u));
}

static void
check_strv(char **v, size_t n, bool urls)
{
	CHECK(n <= ACME_MSG_MAX_LIST);
	CHECK((v == NULL) == (n == 0));
	for (size_t i = 0; i < n; i++) {
		CHECK(v[i]);
		if (urls)
			CHECK(url_ok(v[i]));
	}
	if (v)
		CHECK(v[n] == NULL);
}

/* Summaries at several sizes: bounded, terminated, no control bytes. */
static void
check_problem(const struct acme_problem *p)
{
	static const size_t caps[] = {1, 2, 3, 4, 5, 17, 64, 256, 4096};
	char *buf = malloc(4096);

	CHECK(buf);
	check_strv(p->sub, p->nsub, false);
	CHECK(p->status >= 0 && p->status <= 999);
	for (size_t i = 0; i < sizeof(caps) / sizeof(caps[0]); i++) {
		memset(buf, 'Z', caps[i]);
		acme_problem_summary(p, buf, caps[i]);
		size_t n = strnlen(buf, caps[i]);
		CHECK(n < caps[i]);
		for (size_t k = 0; k < n; k++)
			CHECK((unsigned char)buf[k] >= 0x20 &&
			      (unsigned char)buf[k] != 0x7f);
	}
	if (p->type && strncmp(p->type, "urn:ietf:params:acme:error:", 27) == 0)
		CHECK(acme_problem_is(p, p->type + 27));
	else
		CHECK(!acme_problem_is(p, "badNonce"));
	free(buf);
}

static void
check_challenge(const struct acme_challenge *c)
{
	CHECK(c->type);
	if (c->url)
		CHECK(url_ok(c->url));
	if (c->token) {
		size_t n = strlen(c->token);
		CHECK(n >= 1 && n <= 256);
		CHECK(strspn(c->token, "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghij"
				       "klmnopqrstuvwxyz0123456789-_") == n);
	}
	if (strcmp(c->type, "dns-01") == 0) {
		CHECK(c->url && c->token);
		CHECK(c->status != ACME_ST_UNKNOWN);
	}
	if (c->has_error)
		check_problem(&c->error);
	else
		CHECK(zeroed(&c->error, sizeof(c->error)));
}

static void
fuzz_directory(const char *b, size_t n)
{
	struct acme_directory d;
	int r = acme_directory_parse(b, n, &d);
	if (r != 0) {
		CHECK_FAIL(r, &d);
		return;
	}
	CHECK(url_ok(d.new_nonce) && url_ok(d.new_account) &&
	      url_ok(d.new_order));
	CHECK(!d.revoke_cert || url_ok(d.revoke_cert));
	CHECK(!d.key_change || url_ok(d.key_change));
	CHECK(!d.new_authz || url_ok(d.new_authz));
	CHECK(!d.renewal_info || url_ok(d.renewal_info));
	check_strv(d.profiles, d.nprofiles, false);
	for (size_t i = 0; i < d.nprofiles; i++)
		CHECK(acme_directory_has_profile(&d, d.profiles[i]));
	acme_directory_free(&d);
	CHECK(zeroed(&d, sizeof(d)));
}

static void
fuzz_account(const char *b, size_t n)
{
	struct acme_account a;
	int r = acme_account_parse(b, n, &a);
	if (r != 0) {
		CHECK_FAIL(r, &a);
		return;
	}
	CHECK(a.status);
	check_strv(a.contact, a.ncontact, false);
	CHECK(!a.orders || url_ok(a.orders));
	acme_account_free(&a);
}

static void
fuzz_order(const char *b, size_t n)
{
	struct acme_order o;
	int r = acme_order_parse(b, n, &o);
	if (r != 0) {
		CHECK_FAIL(r, &o);
		return;
	}
	CHECK(o.status != ACME_ST_UNKNOWN);
	CHECK(strcmp(acme_status_name(o.status), "unknown") != 0);
	CHECK(acme_status_parse(acme_status_name(o.status)) == o.status);
	CHECK(o.nidents <= ACME_MSG_MAX_LIST);
	CHECK((o.idents == NULL) == (o.nidents == 0));
	for (size_t i = 0; i < o.nidents; i++)
		CHECK(o.idents[i].type && o.idents[i].value);
	check_strv(o.authzs, o.nauthzs, true);
	CHECK(url_ok(o.finalize));
	CHECK(!o.certificate || url_ok(o.certificate));
	if (o.has_error)
		check_problem(&o.error);
	else
		CHECK(zeroed(&o.error, sizeof(o.error)));
	acme_order_free(&o);
}

static void
fuzz_authz(const char *b, size_t n)
{
	struct acme_authz a;
	int r = acme_authz_parse(b, n, &a);
	if (r != 0) {
		CHECK_FAIL(r, &a);
		CHECK(acme_authz_dns01(&a) == NULL);
		return;
	}
	CHECK(a.ident.type && a.ident.value);
	CHECK(a.status != ACME_ST_UNKNOWN);
	CHECK(a.nchallenges <= ACME_MSG_MAX_LIST);
	CHECK((a.challenges == NULL) == (a.nchallenges == 0));
	for (size_t i = 0; i < a.nchallenges; i++)
		check_challenge(&a.challenges[i]);
	const struct acme_challenge *c = acme_authz_dns01(&a);
	if (c) {
		CHECK(c >= a.challenges && c < a.challenges + a.nchallenges);
		CHECK(strcmp(c->type, "dns-01") == 0);
	}
	acme_authz_free(&a);
}

static void
fuzz_challenge(const char *b, size_t n)
{
	struct acme_challenge c;
	int r = acme_challenge_parse(b, n, &c);
	if (r != 0) {
		CHECK_FAIL(r, &c);
		return;
	}
	check_challenge(&c);
	acme_challenge_free(&c);
}

static void
fuzz_problem(const char *b, size_t n)
{
	struct acme_problem p;
	int r = acme_problem_parse(b, n, &p);
	if (r != 0) {
		CHECK_FAIL(r, &p);
		return;
	}
	check_problem(&p);
	acme_problem_free(&p);
}

static void
fuzz_renewal(const char *b, size_t n)
{
	struct acme_renewal_info ri;
	int r = acme_renewal_info_parse(b, n, &ri);
	if (r != 0) {
		CHECK_FAIL(r, &ri);
		return;
	}
	CHECK(ri.start <= ri.end);
	CHECK(!ri.explanation_url || url_ok(ri.explanation_url));
	acme_renewal_info_free(&ri);
}

/*
 * A plain "YYYY-MM-DDTHH:MM:SSZ" (no leap second, four-digit year >= 1000)
 * must format back to itself: the parser and gmtime agree on the calendar.
 */
static void
fuzz_time(const char *b, size_t n)
{
	int64_t t = -1;
	int r = acme_time_parse(b, n, &t);
	if (r != 0) {
		CHECK(r == AD_EMALF && t == 0);
		return;
	}
	CHECK(n >= 20 && n <= 64);
	if (n == 20 && b[10] == 'T' && b[19] == 'Z' && b[0] != '0' &&
	    !(b[17] == '6' && b[18] == '0')) {
		time_t tt = (time_t)t;
		struct tm tm;
		char back[32];
		CHECK(gmtime_r(&tt, &tm));
		CHECK(strftime(back, sizeof(back), "%Y-%m-%dT%H:%M:%SZ", &tm) ==
		      20);
		CHECK(memcmp(back, b, 20) == 0);
	}
}

static void
fuzz_retry(const char *b, size_t n)
{
	/* Tue, 01 Dec 2026 10:00:00 GMT */
	int64_t d = -1;
	int r = acme_retry_after_parse(b, n, 1796119200, &d);
	if (r != 0) {
		CHECK(r == AD_EMALF && d == 0);
		return;
	}
	CHECK(d >= 0 && d <= 86400);
}

struct linkctx {
	const char *base;
	size_t len;
	int calls, stop_at;
};

static int
link_cb(void *arg, const char *url, size_t url_len)
{
	struct linkctx *c = arg;
	CHECK(url >= c->base && url + url_len <= c->base + c->len);
	CHECK(url_valid(url, url_len));
	c->calls++;
	return c->stop_at && c->calls >= c->stop_at;
}

static void
fuzz_link(const char *b, size_t n)
{
	static const char *const rels[] = {"alternate", "up", "index",
					   "next",      "UP", "a"};
	if (n == 0)
		return;
	const char *rel = rels[(unsigned char)b[0] % 6];
	b++;
	n--;
	struct linkctx c = {b, n, 0, 0};
	int r = acme_link_each(b, n, rel, link_cb, &c);
	if (r < 0) {
		CHECK(r == AD_EMALF && c.calls == 0);
		return;
	}
	CHECK(r == c.calls);
	CHECK(acme_link_each(b, n, rel, NULL, NULL) == r);
	if (r > 0) {
		struct linkctx one = {b, n, 0, 1};
		CHECK(acme_link_each(b, n, rel, link_cb, &one) == 1);
		CHECK(one.calls == 1);
	}
}

static void
fuzz_chain(const char *b, size_t n)
{
	struct acme_certinfo info;
	memset(&info, 0, sizeof(info));
	if (acme_chain_parse(b, n, NULL, &info) != 0)
		return;
	CHECK(info.ncerts >= 1 && info.ncerts <= ACME_MAX_CHAIN);
	for (size_t i = 0; i < info.nnames; i++)
		CHECK(info.names && info.names[i]);
	CHECK(strnlen(info.serial, sizeof(info.serial)) < sizeof(info.serial));
	acme_certinfo_free(&info);

	char *leaf = NULL, *rest = NULL;
	if (acme_chain_split(b, n, &leaf, &rest) == 0) {
		CHECK(leaf);
		free(leaf);
		free(rest);
	}
	uint8_t *der = NULL;
	size_t der_len = 0;
	if (acme_cert_der(b, n, &der, &der_len) == 0) {
		CHECK(der && der_len > 0);
		free(der);
	}
}

static void
fuzz_csr(const char *b, size_t n)
{
	char **names = NULL;
	size_t nn = 0, der_len = 0;
	uint8_t *der = NULL;
	EVP_PKEY *pub = NULL;

	if (acme_csr_parse(b, n, &names, &nn, &der, &der_len, &pub) != 0)
		return;
	CHECK(names && nn >= 1 && nn <= 100 && names[nn] == NULL);
	CHECK(der && der_len > 0 && pub);
	acme_names_free(names);
	free(der);
	EVP_PKEY_free(pub);
}

static const struct {
	char tag;
	void (*fn)(const char *b, size_t n);
} parsers[] = {
    {'d', fuzz_directory}, {'a', fuzz_account},   {'o', fuzz_order},
    {'z', fuzz_authz},     {'c', fuzz_challenge}, {'p', fuzz_problem},
    {'r', fuzz_renewal},   {'t', fuzz_time},      {'y', fuzz_retry},
    {'l', fuzz_link},      {'x', fuzz_chain},     {'s', fuzz_csr},
};
#define NPARSERS (sizeof(parsers) / sizeof(parsers[0]))

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	size_t k = NPARSERS;

	if (size == 0)
		return 0;
	for (size_t i = 0; i < NPARSERS; i++)
		if (parsers[i].tag == (char)data[0])
			k = i;
	if (k == NPARSERS)
		k = data[0] % NPARSERS;
	parsers[k].fn((const char *)data + 1, size - 1);
	return 0;
}
