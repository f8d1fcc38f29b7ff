/* SPDX-License-Identifier: MIT */
/*
 * libFuzzer harness for the configuration loader (server/config.c) and,
 * for configurations that load, the static-record builder (server/
 * records.c, i.e. ldns on [zone] record lines). The input is the config
 * file's text; no environment. Besides memory errors it checks one
 * invariant: when every line of the check-config dump fits the line limit,
 * the dump loads again and dumps to the same text. A config naming a
 * [zone] file is not built, so the fuzzer never reads files from disk.
 */
#include "server/config.h"

#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static char *
dump(const struct srv_config *cfg, size_t *len)
{
	char *buf = NULL;
	FILE *f = open_memstream(&buf, len);

	if (!f)
		abort();
	srv_config_dump(cfg, f);
	fclose(f);
	return buf;
}

static size_t
longest_line(const char *s)
{
	size_t max = 0, cur = 0;

	for (; *s; s++) {
		if (*s == '\n') {
			max = cur > max ? cur : max;
			cur = 0;
		} else {
			cur++;
		}
	}
	return cur > max ? cur : max;
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static char *const no_env[] = {NULL};
	struct srv_config *cfg = NULL, *again = NULL;
	struct srv_records recs;
	char err[1024];
	size_t len1, len2;

	if (srv_config_load_buf("fuzz.conf", (const char *)data, size, no_env,
				&cfg, err, sizeof(err)) != 0)
		return 0;

	if (!*cfg->zone_file &&
	    srv_records_build(cfg, &recs, err, sizeof(err)) == 0)
		srv_records_free(&recs);

	char *d1 = dump(cfg, &len1);
	if (longest_line(d1) <= 199) {
		if (srv_config_load_buf("fuzz.conf", d1, len1, no_env, &again,
					err, sizeof(err)) != 0) {
			fprintf(stderr, "dump does not load: %s\n%s", err, d1);
			abort();
		}
		char *d2 = dump(again, &len2);
		if (len1 != len2 || memcmp(d1, d2, len1) != 0) {
			fprintf(stderr, "dump changed:\n%s\n---\n%s", d1, d2);
			abort();
		}
		free(d2);
		srv_config_free(again);
	}
	free(d1);
	srv_config_free(cfg);
	return 0;
}
