/* SPDX-License-Identifier: MIT */
/*
 * The SQLite store (WAL): registrations and their TXT values now, ACME
 * state later. DNS never reads it: at start-up the daemon loads everything
 * into memory (srv_store_load), and afterwards the store is write-only from
 * the event loop's point of view.
 *
 * Writes run on one writer thread with its own connection and prepared
 * statements (made once), so a slow fsync never stalls DNS answering.
 * Writes queued while a commit is in flight are grouped into the next
 * transaction (group commit); each operation runs under its own SAVEPOINT,
 * so one failing operation does not fail its neighbours. The completion
 * callback runs on the loop thread (uv_async) after the transaction is
 * durable (synchronous=FULL): only then may the caller acknowledge (2xx).
 *
 * With loop == NULL (CLI commands, tests) every write runs at once on the
 * caller's thread and calls its callback before returning.
 *
 * Schema: a schema_version table and forward migrations; a database from a
 * newer acmedns is refused. The file is created 0600.
 */
#ifndef SRV_STORE_H
#define SRV_STORE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include <uv.h>

struct sqlite3;
struct srv_store;

#define SRV_UUID_LEN 36	 /* "xxxxxxxx-xxxx-4xxx-yxxx-xxxxxxxxxxxx" */
#define SRV_HASH_MAX 127 /* longest stored credential hash string */

struct srv_store_reg {
	char username[SRV_UUID_LEN + 1];
	char subdomain[SRV_UUID_LEN + 1];
	/* "$s256$<salt>$<digest>" (ours) or "$2a$10$..." (imported bcrypt) */
	char hash[SRV_HASH_MAX + 1];
	/* JSON array of CIDR strings as registered, e.g. ["10.0.0.0/8"];
	 * "[]" = any. Borrowed in calls, owned by the store in callbacks. */
	const char *allowfrom;
	int64_t created; /* unix seconds */
};

/* Completion, on the loop thread: 0, AD_EEXIST (unique constraint),
 * AD_ENOENT (nothing to delete/update), AD_EIO (SQLite error, logged). */
typedef void (*srv_store_cb)(void *arg, int status);

/*
 * Open (create if missing, with its directory, mode 0700/0600) and migrate
 * the database at path. loop: where completions run, or NULL for the
 * synchronous mode. On error nonzero and a one-line reason in err.
 */
int srv_store_open(uv_loop_t *loop, const char *path, struct srv_store **out,
		   char *err, size_t errlen);

/*
 * Drain the queue (every queued write commits and calls back), stop the
 * writer thread, close the database, free s. In loop mode the loop must
 * run afterwards so that the async handle closes (s freed then).
 */
void srv_store_close(struct srv_store *s);

/* Read everything at start-up, synchronously (before serving). Callbacks
 * return 0 to go on, nonzero to stop with that code. */
struct srv_store_visitor {
	int (*reg)(void *arg, const struct srv_store_reg *r);
	int (*txt)(void *arg, const char *subdomain, const char *value,
		   int64_t updated_ms);
};
int srv_store_load(struct srv_store *s, const struct srv_store_visitor *v,
		   void *arg);

/* ---- asynchronous writes (callback after commit) ---------------------- */

/* Insert a registration. AD_EEXIST if username or subdomain exists. */
int srv_store_reg_put(struct srv_store *s, const struct srv_store_reg *r,
		      srv_store_cb cb, void *arg);
/* Delete a registration and its TXT values. */
int srv_store_reg_delete(struct srv_store *s, const char *username,
			 srv_store_cb cb, void *arg);
/* Replace the credential hash (bcrypt upgraded on first use). */
int srv_store_reg_set_hash(struct srv_store *s, const char *username,
			   const char *hash, srv_store_cb cb, void *arg);
/*
 * acme-dns /update: add value to subdomain's TXT set with timestamp
 * updated_ms (an equal value is refreshed, not duplicated), then keep only
 * the newest `slots` values - the same rule as zone_txt_push().
 */
int srv_store_txt_push(struct srv_store *s, const char *subdomain,
		       const char *value, int64_t updated_ms, unsigned slots,
		       srv_store_cb cb, void *arg);

/*
 * Generic write for later modules (ACME state): fn runs on the writer
 * thread inside the batch transaction, under its own savepoint, with the
 * writer's connection; it returns 0 or an AD_E* code (nonzero rolls its
 * savepoint back) which is passed to cb. fn must not touch loop state.
 */
typedef int (*srv_store_txn_fn)(struct sqlite3 *db, void *arg);
int srv_store_submit(struct srv_store *s, srv_store_txn_fn fn, void *fn_arg,
		     srv_store_cb cb, void *arg);

/* ---- ACME state (migration 2) ----------------------------------------
 * Tables: acme_account (one row: the account as JSON, private key
 * included), acme_domains (id, owner, json, updated), acme_requests
 * (operations queued by the CLI for a running daemon: seq, op, domain id,
 * argument, created). JSON texts are those of acme/engine.h
 * (acme_domain_to_json) and server/acme.c.
 */
struct srv_store_acme_visitor {
	int (*account)(void *arg, const char *json);
	int (*domain)(void *arg, const char *id, const char *owner,
		      const char *json);
};
/* Synchronous read of the account and every domain (start-up, CLI). */
int srv_store_acme_load(struct srv_store *s,
			const struct srv_store_acme_visitor *v, void *arg);
/* Insert or replace the account row. */
int srv_store_account_put(struct srv_store *s, const char *json,
			  srv_store_cb cb, void *arg);
/* Insert or replace a domain row. */
int srv_store_domain_put(struct srv_store *s, const char *id,
			 const char *owner, const char *json, srv_store_cb cb,
			 void *arg);
/* Delete a domain row (AD_ENOENT if absent). */
int srv_store_domain_delete(struct srv_store *s, const char *id,
			    srv_store_cb cb, void *arg);
/* Queue an operation for the daemon ("renew", "revoke", "delete", "add";
 * arg may be NULL: e.g. the revocation reason). */
int srv_store_request_put(struct srv_store *s, const char *op,
			  const char *domain_id, const char *arg_text,
			  srv_store_cb cb, void *arg);
/* Take (read and delete, in one transaction) every queued request, oldest
 * first; fn runs on the loop thread for each, then done(arg, status). */
struct srv_store_request {
	int64_t seq, created;
	char op[16];
	char domain_id[64];
	char *arg; /* or NULL; borrowed during fn */
};
int srv_store_requests_take(struct srv_store *s,
			    void (*fn)(void *arg,
				       const struct srv_store_request *r),
			    srv_store_cb done, void *arg);

/* ---- import from joohoi/acme-dns ------------------------------------- */

struct srv_import_stats {
	size_t regs, txts, skipped; /* skipped: exists already / invalid */
};
/*
 * Read an acme-dns SQLite database (tables `records`: Username, Password
 * (bcrypt, TEXT or BLOB), Subdomain, AllowFrom (JSON array text); `txt`:
 * Subdomain, Value, LastUpdate (unix seconds)) read-only and insert its
 * registrations and non-empty TXT values in one transaction. Synchronous;
 * s may be in either mode but nothing else may be queued. Registrations
 * whose username or subdomain exist already are skipped (counted), so a
 * second import is harmless. err gets a reason on failure.
 */
int srv_store_import_acmedns(struct srv_store *s, const char *path,
			     struct srv_import_stats *st, char *err,
			     size_t errlen);

struct srv_store_stats {
	uint64_t ops, commits, failures;
	uint64_t queued;	  /* now waiting */
	uint64_t last_commit_us; /* duration of the last commit */
};
/* Snapshot (thread-safe). */
void srv_store_stats(struct srv_store *s, struct srv_store_stats *out);

#endif
