/* SPDX-License-Identifier: MIT */
/*
 * What the `acmedns domains` and `acmedns account` commands share: usage
 * errors, opening the configuration and the store (synchronous mode), and
 * queueing a request for a running daemon. Prints its own messages; never
 * prints a secret.
 */
#include "server/cli.h"

#include "common/errors.h"
#include "server/config.h"
#include "server/store.h"

#include <stdarg.h>
#include <stdio.h>

extern char **environ;

int
srv_cli__usage_error(const char *cmd, const char *usage, const char *fmt, ...)
{
	va_list ap;

	fprintf(stderr, "acmedns %s: ", cmd);
	va_start(ap, fmt);
	vfprintf(stderr, fmt, ap);
	va_end(ap);
	fprintf(stderr, "\nusage:\n%s", usage);
	return SRV_CLI_EXIT_USAGE;
}

int
srv_cli__open(const char *cfg_path, struct srv_config **cfg,
	      struct srv_store **st)
{
	char err[1024];

	*cfg = NULL;
	*st = NULL;
	if (srv_config_load(cfg_path, environ, cfg, err, sizeof(err))) {
		fprintf(stderr, "%s\n", err);
		return SRV_CLI_EXIT_RUNTIME;
	}
	if (srv_store_open(NULL, (*cfg)->store_path, st, err, sizeof(err))) {
		fprintf(stderr, "acmedns: %s\n", err);
		return SRV_CLI_EXIT_RUNTIME;
	}
	return -1;
}

void
srv_cli__on_sync(void *arg, int status)
{
	*(int *)arg = status;
}

int
srv_cli__queue(struct srv_store *st, const char *store_path, const char *op,
	       const char *id, const char *arg)
{
	int status = AD_EIO;
	int rc =
	    srv_store_request_put(st, op, id, arg, srv_cli__on_sync, &status);

	if (rc == 0)
		rc = status;
	if (rc != 0)
		fprintf(stderr,
			"acmedns: cannot queue the %s request in %s: %s\n", op,
			store_path, ad_strerror(rc));
	return rc;
}
