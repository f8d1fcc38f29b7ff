/* SPDX-License-Identifier: MIT */
/*
 * `acmedns domains add|list|show|renew|revoke|delete -c FILE ...`: the
 * managed-domain operations of contract §4.2 on the local store
 * (server/cli_domains.c); `acmedns account show|key-change|deactivate|
 * contact -c FILE ...`: the ACME account (server/cli_account.c).
 */
#ifndef SRV_CLI_H
#define SRV_CLI_H

/*
 * cfg_path: the configuration file (-c or its default). argc/argv: the
 * words after "domains" (argv[0] is the operation), options included.
 * Returns the process exit code: 0, 1 (runtime error, one line on
 * stderr), 2 (usage).
 */
int srv_cli_domains(const char *cfg_path, int argc, char **argv);
/* Usage lines for `acmedns --help`. */
extern const char srv_cli_domains_usage[];

/*
 * `acmedns account OP`: show reads the stored account (never its private
 * key); key-change, deactivate and contact are queued in the store for
 * the daemon (server/acme.c applies them within about 2 s, or at its
 * next start). Arguments and return value as srv_cli_domains.
 */
int srv_cli_account(const char *cfg_path, int argc, char **argv);
extern const char srv_cli_account_usage[];

/* ---- shared by cli_domains.c and cli_account.c (server/cli_util.c) ---- */

struct srv_config;
struct srv_store;

#define SRV_CLI_EXIT_RUNTIME 1
#define SRV_CLI_EXIT_USAGE 2

/* "acmedns <cmd>: <message>" and the usage on stderr; returns
 * SRV_CLI_EXIT_USAGE. */
int srv_cli__usage_error(const char *cmd, const char *usage, const char *fmt,
			 ...) __attribute__((format(printf, 3, 4)));
/* Load the configuration and open its store synchronously. -1 when both
 * are open (caller frees both, also on error: either may be NULL), else
 * the exit code with the reason printed. */
int srv_cli__open(const char *cfg_path, struct srv_config **cfg,
		  struct srv_store **st);
/* srv_store_cb for the synchronous store: *(int *)arg = status (the
 * callback runs before the store call returns). */
void srv_cli__on_sync(void *arg, int status);
/* Queue op for the daemon (srv_store_request_put). 0, or an AD_E* code
 * with the reason printed. */
int srv_cli__queue(struct srv_store *st, const char *store_path, const char *op,
		   const char *id, const char *arg);

#endif
