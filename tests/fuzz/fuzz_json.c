/* SPDX-License-Identifier: MIT */
/*
 * libFuzzer harness for the REST API bodies (server/api_json.c): the
 * /register and /update parsers and the stored allowfrom decoder, run on
 * the same bytes; and the native managed-domain bodies (POST /domains,
 * revoke). Invariants: every CIDR returned parses again from its text;
 * update fields are NUL-terminated within their buffers and a value that
 * was cut is never reported with a length that could validate; a parsed
 * /domains body holds only valid, unique, lower-case names within the
 * limits, unique TLSA ports, and a failed one holds nothing and explains
 * itself in a NUL-terminated detail; a revoke reason is -1 or 0..10 but 7.
 */
#include "acme/engine.h"
#include "server/api.h"
#include "server/creds.h"

#include <stdint.h>
#include <stdlib.h>
#include <string.h>

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static void
check_domain(const uint8_t *body, size_t size)
{
	struct srv_api_domain_body b;
	char detail[128];
	memset(detail, 'x', sizeof(detail));
	enum srv_api_derr r = srv_api_parse_domain(body, size, &b, detail,
						   sizeof(detail));
	if (memchr(detail, '\0', sizeof(detail)) == NULL)
		abort();
	if (!srv_api_derr_code(r))
		abort();
	if (r != SRV_API_D_OK) {
		if (b.names || b.nnames || b.key_type || b.csr_pem || b.tlsa ||
		    b.ntlsa || detail[0] == '\0')
			abort();
		return;
	}
	if (b.nnames > SRV_API_MAX_NAMES || b.ntlsa > SRV_API_MAX_TLSA)
		abort();
	if (b.nnames == 0 && !b.csr_pem)
		abort();
	if (b.key_type && b.csr_pem)
		abort();
	if (b.csr_pem && strlen(b.csr_pem) > SRV_API_MAX_CSR)
		abort();
	for (size_t i = 0; i < b.nnames; i++) {
		if (!srv_api_domain_name_valid(b.names[i], strlen(b.names[i])))
			abort();
		for (size_t k = 0; k < i; k++)
			if (strcmp(b.names[i], b.names[k]) == 0)
				abort();
	}
	for (size_t i = 0; i < b.ntlsa; i++) {
		if (b.tlsa[i].port == 0 ||
		    memchr(b.tlsa[i].proto, '\0', sizeof(b.tlsa[i].proto)) ==
			    NULL)
			abort();
		for (size_t k = 0; k < i; k++)
			if (b.tlsa[i].port == b.tlsa[k].port &&
			    strcmp(b.tlsa[i].proto, b.tlsa[k].proto) == 0)
				abort();
	}
	srv_api_domain_body_free(&b);
	if (b.names || b.tlsa)
		abort();
}

static void
check_revoke(const uint8_t *body, size_t size)
{
	char detail[128];
	int reason = 99;
	enum srv_api_derr r = srv_api_parse_revoke(body, size, &reason, detail,
						   sizeof(detail));
	if (r == SRV_API_D_OK ? (reason < -1 || reason > 10 || reason == 7)
			      : (reason != -1 || detail[0] == '\0'))
		abort();
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct srv_cidr *c = NULL;
	size_t n = 0;

	/* the HTTP layer hands over NUL-terminated bodies */
	uint8_t *body = malloc(size + 1);
	if (!body)
		return 0;
	memcpy(body, data, size);
	body[size] = '\0';

	enum srv_api_perr r = srv_api_parse_register(body, size, &c, &n);
	if (r == SRV_API_OK) {
		if (n > SRV_API_MAX_ALLOWFROM)
			abort();
		for (size_t i = 0; i < n; i++) {
			struct srv_cidr again;
			if (srv_cidr_parse(c[i].text, &again) != 0)
				abort();
		}
	} else if (c || n) {
		abort();
	}
	free(c);

	char sub[SRV_API_FIELD_MAX], txt[SRV_API_FIELD_MAX];
	size_t sl, tl;
	srv_api_parse_update(body, size, sub, &sl, txt, &tl);
	if (strlen(sub) >= SRV_API_FIELD_MAX || strlen(txt) >= SRV_API_FIELD_MAX)
		abort();
	if (strlen(txt) != tl && srv_txt_valid(txt, tl))
		abort();
	srv_txt_valid(txt, tl);
	srv_subdomain_valid(sub, sl < SRV_API_FIELD_MAX ? sl : 0);

	size_t bad;
	c = NULL;
	if (srv_api_cidrs_from_json((const char *)body, &c, &n, &bad) == 0)
		free(c);

	check_domain(body, size);
	check_revoke(body, size);
	free(body);
	return 0;
}
