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

#endif
