/* SPDX-License-Identifier: MIT */
/*
 * libFuzzer harness for the REST API bodies (server/api_json.c): the
 * /register and /update parsers and the stored allowfrom decoder, run on
 * the same bytes. Invariants: every CIDR returned parses again from its
 * text; update fields are NUL-terminated within their buffers and a value
 * that was cut is never reported with a length that could validate.
 */
#include "server/api.h"
#include "server/creds.h"

#include <stdint.h>
#include <stdlib.h>
#include <string.h>

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

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
	free(body);
	return 0;
}
