/* SPDX-License-Identifier: MIT */
/*
 * Certificate output files (contract §5) and deploy hooks.
 *
 * Layout under [certs] dir, for one domain (dirname = domain id, or the
 * first name with "*" written as "_wildcard"):
 *
 *   <dir>/<dirname>/archive/<version>/{cert,chain,fullchain,key}.pem
 *   <dir>/<dirname>/live -> archive/<version>        (symlink)
 *   <dir>/<dirname>/cert.pem -> live/cert.pem        (symlinks, made once)
 *   ... chain.pem, fullchain.pem, key.pem
 *
 * A new version is written completely (each file fsync'd, the directory
 * too) and then published by renaming a fresh symlink over `live`: one
 * atomic step, so a reader never sees a mix of old and new files (the
 * Kubernetes AtomicWriter scheme). Previous versions stay under archive/
 * (the newest ACME_CERTFILES_KEEP; older ones are removed). Directories
 * are 0700, key.pem 0600, the others 0644. <version> is
 * "YYYYmmddTHHMMSSZ-<serial>" so versions sort by time.
 */
#ifndef SRV_CERTFILES_H
#define SRV_CERTFILES_H

#include <stddef.h>
#include <stdint.h>

#include <uv.h>

#define SRV_CERTFILES_KEEP 10

/*
 * Write a new version. fullchain_pem: leaf first then the issuers (split
 * into cert.pem/chain.pem here); key_pem: NULL when the user sent a CSR
 * (no key.pem, and a key.pem link of an earlier version is removed).
 * now: unix s (version name). 0 or nonzero with err (nothing published).
 * *out_path (optional) gets "<dir>/<dirname>" malloc'd.
 */
int srv_certfiles_write(const char *dir, const char *dirname,
			const char *fullchain_pem, const char *key_pem,
			int64_t now, char **out_path, char *err,
			size_t errlen);

/* Remove <dir>/<dirname> entirely (domain deleted). 0 or -errno. */
int srv_certfiles_remove(const char *dir, const char *dirname);

/* "<first name>" made safe as a directory name ("*." -> "_wildcard.",
 * anything outside [a-z0-9.-_] -> '_'). out: at least 256 bytes. */
void srv_certfiles_dirname(const char *name, char *out, size_t cap);

/*
 * Run a deploy hook: /bin/sh -c cmd with env (NULL-terminated "K=V"
 * strings added to a minimal environment: PATH, HOME), stdin /dev/null,
 * stdout+stderr logged line by line at info ("hook: ..."), killed
 * (SIGTERM, then SIGKILL after 5 s) after timeout_s. done(arg, status):
 * exit status, or -1 for a signal/timeout, or AD_E* if it could not start.
 * done runs on the loop thread, never inside this call. May be NULL.
 */
typedef void (*srv_hook_cb)(void *arg, int status);
int srv_hook_run(uv_loop_t *loop, const char *cmd, const char *const *env,
		 unsigned timeout_s, srv_hook_cb done, void *arg);

#endif
