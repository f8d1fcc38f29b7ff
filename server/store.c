/* SPDX-License-Identifier: MIT */
/*
 * The SQLite store of server/store.h: opening (directory 0700, file 0600,
 * WAL, synchronous=FULL, foreign keys), the forward migrations, the writer
 * thread with group commit and one savepoint per operation, the start-up
 * load, the ACME state (account, domains, the CLI's request queue) and
 * the import of a joohoi/acme-dns database. It owns two
 * connections in loop mode: `db` is used only on the caller's (loop)
 * thread (open, migrate, load, import), `w` only on the writer thread; in
 * synchronous mode they are one connection. It must not touch DNS or API
 * state: results travel back only through the callbacks, which run on the
 * loop thread (uv_async) after the transaction committed.
 */
#include "server/store.h"

#include "common/errors.h"
#include "common/log.h"
#include "common/util.h"
#include "common/xalloc.h"
#include "zones/zone.h"

#include <ctype.h>
#include <errno.h>
#include <fcntl.h>
#include <pthread.h>
#include <signal.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include <sqlite3.h>

#define STORE_BATCH_MAX 1024 /* operations per transaction */
#define STORE_BUSY_MS 5000   /* wait for another connection's lock */
#define STORE_QUICK_CHECK_MAX (32 << 20) /* bytes; larger files skip it */
#define STORE_ALLOW_MAX 65536            /* bytes of an allowfrom JSON text */
#define STORE_JSON_MAX (8 << 20)         /* bytes of an ACME JSON document */
#define STORE_TAKE_MAX 1000              /* acme requests taken at once */
#define STORE_ID_MAX 63                  /* bytes of an ACME domain id/owner */
#define STORE_OP_MAX 15                  /* bytes of an acme request op */

/*
 * Forward migrations: migrations[i] takes the schema from version i to
 * i + 1, in one transaction together with the version bump. Append only;
 * never edit a released entry.
 */
static const char *const migrations[] = {
    /* 1: acme-dns registrations and their rotating TXT values. txt rows
     * follow their registration (ON DELETE CASCADE, foreign_keys=ON on
     * every connection); txt_by_age serves the rotation (newest `slots`
     * of one subdomain) and the ordered load - as a WITHOUT ROWID index it
     * carries the primary key, so it is (subdomain, updated, value). */
    "CREATE TABLE registrations("
    " id INTEGER PRIMARY KEY,"
    " username TEXT NOT NULL UNIQUE,"
    " subdomain TEXT NOT NULL UNIQUE,"
    " hash TEXT NOT NULL,"
    " allowfrom TEXT NOT NULL DEFAULT '[]',"
    " created INTEGER NOT NULL);"
    "CREATE TABLE txt("
    " subdomain TEXT NOT NULL"
    "  REFERENCES registrations(subdomain) ON DELETE CASCADE,"
    " value TEXT NOT NULL,"
    " updated INTEGER NOT NULL,"
    " PRIMARY KEY(subdomain, value)) WITHOUT ROWID;"
    "CREATE INDEX txt_by_age ON txt(subdomain, updated);",
    /* 2: ACME state (server/acme.c). The account is a single row (the
     * CHECK makes a second one impossible); domains are JSON documents
     * of acme_domain_to_json() keyed by their id, with the owner beside
     * them for the per-registration listing and DELETE /register;
     * acme_requests is the CLI's mailbox to a running daemon, consumed
     * oldest first (AUTOINCREMENT: a seq is never reused, so a request
     * taken and deleted cannot be confused with a later one). */
    "CREATE TABLE acme_account("
    " id INTEGER PRIMARY KEY CHECK (id = 1),"
    " json TEXT NOT NULL);"
    "CREATE TABLE acme_domains("
    " id TEXT PRIMARY KEY,"
    " owner TEXT NOT NULL,"
    " json TEXT NOT NULL,"
    " updated INTEGER NOT NULL);"
    "CREATE INDEX acme_domains_by_owner ON acme_domains(owner);"
    "CREATE TABLE acme_requests("
    " seq INTEGER PRIMARY KEY AUTOINCREMENT,"
    " op TEXT NOT NULL,"
    " domain_id TEXT NOT NULL,"
    " arg TEXT,"
    " created INTEGER NOT NULL);",
};
#define STORE_SCHEMA_VERSION ((int)AD_ARRAY_SIZE(migrations))

/* Statements of the write connection, prepared once (persistent). */
enum {
	ST_BEGIN,
	ST_COMMIT,
	ST_ROLLBACK,
	ST_SAVEPOINT,
	ST_RELEASE,
	ST_ROLLBACK_TO,
	ST_REG_PUT,
	ST_REG_DEL,
	ST_SET_HASH,
	ST_SUB_EXISTS,
	ST_TXT_REFRESH,
	ST_TXT_TRIM,
	ST_TXT_INSERT,
	ST_ACCT_PUT,
	ST_DOM_PUT,
	ST_DOM_DEL,
	ST_REQ_PUT,
	ST_REQ_LIST,
	ST_REQ_DEL,
	ST__N
};

static const char *const stmt_sql[ST__N] = {
    [ST_BEGIN] = "BEGIN IMMEDIATE",
    [ST_COMMIT] = "COMMIT",
    [ST_ROLLBACK] = "ROLLBACK",
    [ST_SAVEPOINT] = "SAVEPOINT op",
    [ST_RELEASE] = "RELEASE op",
    [ST_ROLLBACK_TO] = "ROLLBACK TO op",
    [ST_REG_PUT] = "INSERT INTO registrations"
		   "(username, subdomain, hash, allowfrom, created)"
		   " VALUES (?1, ?2, ?3, ?4, ?5)",
    [ST_REG_DEL] = "DELETE FROM registrations WHERE username = ?1",
    [ST_SET_HASH] = "UPDATE registrations SET hash = ?2 WHERE username = ?1",
    [ST_SUB_EXISTS] = "SELECT 1 FROM registrations WHERE subdomain = ?1",
    [ST_TXT_REFRESH] = "UPDATE txt SET updated = ?3"
		       " WHERE subdomain = ?1 AND value = ?2",
    /* keep the newest ?2 values; among equal timestamps the smallest
     * value goes first, which is what zone_txt_push does with the rows
     * as srv_store_load hands them over (oldest, then smallest first) */
    [ST_TXT_TRIM] = "DELETE FROM txt WHERE subdomain = ?1 AND value NOT IN"
		    " (SELECT value FROM txt WHERE subdomain = ?1"
		    " ORDER BY updated DESC, value DESC LIMIT ?2)",
    [ST_TXT_INSERT] = "INSERT INTO txt(subdomain, value, updated)"
		      " VALUES (?1, ?2, ?3)",
    [ST_ACCT_PUT] = "INSERT OR REPLACE INTO acme_account(id, json)"
		    " VALUES (1, ?1)",
    [ST_DOM_PUT] = "INSERT INTO acme_domains(id, owner, json, updated)"
		   " VALUES (?1, ?2, ?3, ?4) ON CONFLICT(id) DO UPDATE SET"
		   " owner = excluded.owner, json = excluded.json,"
		   " updated = excluded.updated",
    [ST_DOM_DEL] = "DELETE FROM acme_domains WHERE id = ?1",
    [ST_REQ_PUT] = "INSERT INTO acme_requests(op, domain_id, arg, created)"
		   " VALUES (?1, ?2, ?3, ?4)",
    [ST_REQ_LIST] = "SELECT seq, op, domain_id, arg, created"
		    " FROM acme_requests ORDER BY seq LIMIT ?1",
    [ST_REQ_DEL] = "DELETE FROM acme_requests WHERE seq <= ?1",
};

struct store_conn {
	sqlite3 *db;
	sqlite3_stmt *st[ST__N];
};

enum store_op_kind {
	OP_REG_PUT,
	OP_REG_DEL,
	OP_SET_HASH,
	OP_TXT_PUSH,
	OP_FN,
	OP_ACCT_PUT,
	OP_DOM_PUT,
	OP_DOM_DEL,
	OP_REQ_PUT,
	OP_REQ_TAKE,
};

/* One queued write. Its strings are copies packed into buf, so the
 * caller's buffers are borrowed only during the submitting call. */
struct store_op {
	struct store_op *next;
	enum store_op_kind kind;
	int status;
	srv_store_cb cb;
	void *arg;
	srv_store_txn_fn fn;
	void *fn_arg;
	int64_t num; /* created (s) or updated (ms) */
	unsigned slots;
	const char *s1, *s2, *s3, *s4;
	size_t buflen;
	char buf[];
};

struct srv_store {
	uv_loop_t *loop; /* NULL: synchronous mode */
	sqlite3 *db;     /* caller's thread */
	struct store_conn w;
	char *path;

	pthread_mutex_t mu; /* guards the lists below, closing and st */
	pthread_cond_t cv;  /* queue not empty, or closing */
	struct store_op *q_head, *q_tail;
	struct store_op *done_head, *done_tail;
	bool closing;
	bool thread_started;
	pthread_t thread;
	struct srv_store_stats st;

	struct store_op *deliv; /* being delivered (loop thread only) */
	uv_async_t async;
};

static void store__seterr(char *err, size_t errlen, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));

static void
store__seterr(char *err, size_t errlen, const char *fmt, ...)
{
	va_list ap;

	if (!err || errlen == 0)
		return;
	va_start(ap, fmt);
	vsnprintf(err, errlen, fmt, ap);
	va_end(ap);
}

static uint64_t
store__mono_us(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000000u + (uint64_t)ts.tv_nsec / 1000u;
}

/*
 * Map an SQLite result to our error space. Unique/primary key conflicts
 * are an answer (AD_EEXIST), as is a missing parent row (AD_ENOENT);
 * anything else is a storage failure, logged with SQLite's message
 * (which names tables and columns, never bound values).
 */
static int
store__sqlerr(sqlite3 *db, int rc, const char *what)
{
	switch (rc) {
	case SQLITE_CONSTRAINT_UNIQUE:
	case SQLITE_CONSTRAINT_PRIMARYKEY:
		return AD_EEXIST;
	case SQLITE_CONSTRAINT_FOREIGNKEY:
		return AD_ENOENT;
	default:
		break;
	}
	ad_err("store", "%s: %s (%d)", what, sqlite3_errmsg(db), rc);
	return AD_EIO;
}

/* Run a prepared statement that returns no rows, then reset it. */
static int
store__step(struct store_conn *c, int idx)
{
	sqlite3_stmt *st = c->st[idx];
	int rc = sqlite3_step(st);
	int r = 0;

	if (rc != SQLITE_DONE && rc != SQLITE_ROW)
		r = store__sqlerr(c->db, rc, stmt_sql[idx]);
	sqlite3_reset(st);
	sqlite3_clear_bindings(st);
	return r;
}

/* Execute SQL text (no results wanted) on the caller's connection. */
static int
store__exec(sqlite3 *db, const char *sql)
{
	int rc = sqlite3_exec(db, sql, NULL, NULL, NULL);

	return rc == SQLITE_OK ? 0 : store__sqlerr(db, rc, sql);
}

/* First column of the first row of sql as text into buf ("" if none). */
static int
store__query_text(sqlite3 *db, const char *sql, char *buf, size_t len)
{
	sqlite3_stmt *st = NULL;
	int rc = sqlite3_prepare_v2(db, sql, -1, &st, NULL);

	buf[0] = '\0';
	if (rc == SQLITE_OK) {
		rc = sqlite3_step(st);
		if (rc == SQLITE_ROW) {
			const unsigned char *t = sqlite3_column_text(st, 0);
			ad_strlcpy(buf, t ? (const char *)t : "", len);
			rc = SQLITE_OK;
		} else if (rc == SQLITE_DONE) {
			rc = SQLITE_OK;
		}
	}
	int r = rc == SQLITE_OK ? 0 : store__sqlerr(db, rc, sql);
	sqlite3_finalize(st);
	return r;
}

static int
store__query_int(sqlite3 *db, const char *sql, int64_t *out)
{
	char buf[32];
	int r = store__query_text(db, sql, buf, sizeof(buf));

	*out = r == 0 ? strtoll(buf, NULL, 10) : 0;
	return r;
}

/* ---- opening ------------------------------------------------------------- */

/* mkdir -p of path's directory, new components 0700. */
static int
store__mkdirs(const char *path, char *err, size_t errlen)
{
	char *dir = xstrdup(path);
	char *slash = strrchr(dir, '/');
	int r = 0;

	if (!slash || slash == dir) {
		free(dir);
		return 0;
	}
	*slash = '\0';
	for (char *p = dir + 1;; p++) {
		if (*p != '/' && *p != '\0')
			continue;
		char c = *p;
		*p = '\0';
		if (mkdir(dir, 0700) == 0) {
			ad_info("store", "created directory %s", dir);
		} else if (errno != EEXIST) {
			r = -errno;
			store__seterr(err, errlen, "%s: cannot create %s: %s",
				      path, dir, strerror(errno));
			break;
		}
		if (c == '\0')
			break;
		*p = c;
	}
	free(dir);
	return r;
}

/*
 * Create the file 0600 ourselves before SQLite opens it: SQLite would use
 * 0644 & ~umask, and changing the process umask is racy once other
 * threads exist. SQLite gives the -wal and -shm files the database file's
 * mode. A looser existing file is tightened (with a warning).
 */
static int
store__precreate(const char *path, char *err, size_t errlen)
{
	struct stat sb;
	int fd = open(path, O_RDWR | O_CREAT | O_CLOEXEC, 0600);
	int r = 0;

	if (fd < 0) {
		r = -errno;
		store__seterr(err, errlen, "%s: %s", path, strerror(errno));
		return r;
	}
	if (fstat(fd, &sb) != 0) {
		r = -errno;
		store__seterr(err, errlen, "%s: %s", path, strerror(errno));
	} else if (!S_ISREG(sb.st_mode)) {
		r = AD_EINVAL;
		store__seterr(err, errlen, "%s: not a regular file", path);
	} else if (sb.st_mode & 077) {
		ad_warn("store", "%s: mode %03o is too open, setting 0600",
			path, (unsigned)(sb.st_mode & 0777));
		if (fchmod(fd, 0600) != 0)
			ad_warn("store", "%s: chmod: %s", path,
				strerror(errno));
	}
	close(fd);
	return r;
}

/* Open one read-write connection with our pragmas. */
static int
store__connect(const char *path, sqlite3 **out, char *err, size_t errlen)
{
	sqlite3 *db = NULL;
	char mode[16];
	int64_t fk = 0;
	int rc = sqlite3_open_v2(path, &db,
				 SQLITE_OPEN_READWRITE | SQLITE_OPEN_CREATE |
				     SQLITE_OPEN_NOMUTEX,
				 NULL);

	*out = NULL;
	if (rc != SQLITE_OK) {
		store__seterr(err, errlen, "%s: %s", path,
			      db ? sqlite3_errmsg(db) : sqlite3_errstr(rc));
		sqlite3_close(db);
		return AD_EIO;
	}
	sqlite3_extended_result_codes(db, 1);
	sqlite3_busy_timeout(db, STORE_BUSY_MS);
	/* journal_mode answers with the mode in force: a file system
	 * without shared memory support, say, leaves it at "delete" */
	if (store__query_text(db, "PRAGMA journal_mode=WAL", mode,
			      sizeof(mode)) != 0 ||
	    strcasecmp(mode, "wal") != 0) {
		store__seterr(err, errlen, "%s: cannot enable WAL mode: %s",
			      path, mode[0] ? mode : sqlite3_errmsg(db));
		goto fail;
	}
	/* small page caches: the store is write-mostly and DNS never reads
	 * it, so 1 MiB per connection is plenty (the default is 2 MiB) */
	if (store__exec(db, "PRAGMA synchronous=FULL;"
			    "PRAGMA cache_size=-1024;"
			    "PRAGMA foreign_keys=ON") != 0 ||
	    store__query_int(db, "PRAGMA foreign_keys", &fk) != 0 || fk != 1) {
		store__seterr(err, errlen, "%s: cannot set pragmas: %s", path,
			      sqlite3_errmsg(db));
		goto fail;
	}
	*out = db;
	return 0;
fail:
	sqlite3_close(db);
	return AD_EIO;
}

/* PRAGMA quick_check, for files small enough that it costs little. */
static int
store__quick_check(sqlite3 *db, const char *path, char *err, size_t errlen)
{
	int64_t pages = 0, size = 0;
	char res[128];

	if (store__query_int(db, "PRAGMA page_count", &pages) != 0 ||
	    store__query_int(db, "PRAGMA page_size", &size) != 0)
		goto ioerr;
	if (pages * size > STORE_QUICK_CHECK_MAX)
		return 0;
	if (store__query_text(db, "PRAGMA quick_check", res, sizeof(res)) != 0)
		goto ioerr;
	if (strcmp(res, "ok") != 0) {
		store__seterr(err, errlen, "%s: database is damaged: %s", path,
			      res);
		return AD_EIO;
	}
	return 0;
ioerr:
	store__seterr(err, errlen, "%s: %s", path, sqlite3_errmsg(db));
	return AD_EIO;
}

/*
 * Bring the schema to STORE_SCHEMA_VERSION, one transaction per step. The
 * version is read inside the write transaction, so two processes opening
 * the same new file cannot both apply a step.
 */
static int
store__migrate(sqlite3 *db, const char *path, char *err, size_t errlen)
{
	for (;;) {
		int64_t v = 0;
		if (store__exec(db, "BEGIN IMMEDIATE") != 0)
			goto ioerr;
		if (store__exec(db, "CREATE TABLE IF NOT EXISTS schema_version"
				    "(version INTEGER NOT NULL)") != 0 ||
		    store__query_int(db,
				     "SELECT max(version) FROM "
				     "schema_version",
				     &v) != 0)
			goto rollback;
		if (v > STORE_SCHEMA_VERSION) {
			store__exec(db, "ROLLBACK");
			store__seterr(err, errlen,
				      "%s: database schema version %lld is "
				      "newer than this acmedns (%d)",
				      path, (long long)v, STORE_SCHEMA_VERSION);
			return AD_EUNSUP;
		}
		if (v < 0) {
			store__exec(db, "ROLLBACK");
			store__seterr(err, errlen,
				      "%s: invalid schema version %lld", path,
				      (long long)v);
			return AD_EMALF;
		}
		if (v == STORE_SCHEMA_VERSION)
			return store__exec(db, "COMMIT") == 0 ? 0 : AD_EIO;
		char bump[96];
		snprintf(bump, sizeof(bump),
			 "DELETE FROM schema_version;"
			 "INSERT INTO schema_version VALUES (%lld)",
			 (long long)v + 1);
		if (store__exec(db, migrations[v]) != 0 ||
		    store__exec(db, bump) != 0 ||
		    store__exec(db, "COMMIT") != 0)
			goto rollback;
		ad_info("store", "%s: schema migrated to version %lld", path,
			(long long)v + 1);
	}
rollback:
	store__seterr(err, errlen, "%s: migration failed: %s", path,
		      sqlite3_errmsg(db));
	store__exec(db, "ROLLBACK");
	return AD_EIO;
ioerr:
	store__seterr(err, errlen, "%s: %s", path, sqlite3_errmsg(db));
	return AD_EIO;
}

static int
store__prepare(struct store_conn *c, const char *path, char *err, size_t errlen)
{
	for (int i = 0; i < ST__N; i++) {
		int rc = sqlite3_prepare_v3(c->db, stmt_sql[i], -1,
					    SQLITE_PREPARE_PERSISTENT,
					    &c->st[i], NULL);
		if (rc != SQLITE_OK) {
			store__seterr(err, errlen, "%s: prepare %s: %s", path,
				      stmt_sql[i], sqlite3_errmsg(c->db));
			return AD_EIO;
		}
	}
	return 0;
}

static void
store__conn_close(struct store_conn *c)
{
	for (int i = 0; i < ST__N; i++) {
		sqlite3_finalize(c->st[i]);
		c->st[i] = NULL;
	}
	c->db = NULL;
}

static void
store__op_free(struct store_op *op)
{
	/* hashes are not secrets, but there is no reason to leave them */
	explicit_bzero(op->buf, op->buflen);
	free(op);
}

/* ---- executing operations (writer thread, or caller in sync mode) -------- */

static int
store__bind_text(sqlite3_stmt *st, int i, const char *s)
{
	return sqlite3_bind_text(st, i, s, -1, SQLITE_STATIC);
}

static int
store__op_txt_push(struct store_conn *c, const struct store_op *op)
{
	sqlite3_stmt *st;
	int rc, r;

	/* the subdomain must be registered (the foreign key would say so
	 * too, but only as a constraint error after the trim) */
	st = c->st[ST_SUB_EXISTS];
	store__bind_text(st, 1, op->s1);
	rc = sqlite3_step(st);
	r = rc == SQLITE_ROW    ? 0
	    : rc == SQLITE_DONE ? AD_ENOENT
				: store__sqlerr(c->db, rc, "txt lookup");
	sqlite3_reset(st);
	sqlite3_clear_bindings(st);
	if (r)
		return r;

	/* zone_txt_push: an equal value is only refreshed */
	st = c->st[ST_TXT_REFRESH];
	store__bind_text(st, 1, op->s1);
	store__bind_text(st, 2, op->s2);
	sqlite3_bind_int64(st, 3, op->num);
	if ((r = store__step(c, ST_TXT_REFRESH)))
		return r;
	if (sqlite3_changes64(c->db) > 0)
		return 0;

	/* otherwise make room for it: the newest slots - 1 stay (fewer if
	 * slots shrank), and the new value is added whatever its age */
	st = c->st[ST_TXT_TRIM];
	store__bind_text(st, 1, op->s1);
	sqlite3_bind_int64(st, 2, (sqlite3_int64)op->slots - 1);
	if ((r = store__step(c, ST_TXT_TRIM)))
		return r;

	st = c->st[ST_TXT_INSERT];
	store__bind_text(st, 1, op->s1);
	store__bind_text(st, 2, op->s2);
	sqlite3_bind_int64(st, 3, op->num);
	return store__step(c, ST_TXT_INSERT);
}

static bool store__col_copy(sqlite3_stmt *st, int i, char *dst, size_t max);

/* A srv_store_requests_take in flight: filled on the writer thread,
 * delivered (then freed) on the loop thread. */
struct store_take {
	void (*fn)(void *arg, const struct srv_store_request *r);
	srv_store_cb done;
	void *arg;
	struct srv_store_request *reqs;
	size_t n;
};

static void
store__take_clear(struct store_take *t)
{
	for (size_t i = 0; i < t->n; i++)
		free(t->reqs[i].arg);
	free(t->reqs);
	t->reqs = NULL;
	t->n = 0;
}

/*
 * Read up to STORE_TAKE_MAX queued requests and delete them, in the
 * batch transaction: if it does not commit, the rows stay queued and the
 * loop side delivers nothing (status != 0). Rows written by hand that do
 * not fit srv_store_request are dropped with a warning rather than left
 * to block the queue forever.
 */
static int
store__op_req_take(struct store_conn *c, struct store_take *t)
{
	sqlite3_stmt *st = c->st[ST_REQ_LIST];
	int64_t last = -1;
	int rc, r = 0;

	store__take_clear(t); /* a retried batch starts afresh */
	sqlite3_bind_int64(st, 1, STORE_TAKE_MAX);
	while ((rc = sqlite3_step(st)) == SQLITE_ROW) {
		struct srv_store_request q = {0};
		const unsigned char *arg = sqlite3_column_text(st, 3);
		size_t alen = (size_t)sqlite3_column_bytes(st, 3);

		last = sqlite3_column_int64(st, 0);
		q.seq = last;
		q.created = sqlite3_column_int64(st, 4);
		if (!store__col_copy(st, 1, q.op, STORE_OP_MAX) ||
		    !store__col_copy(st, 2, q.domain_id, STORE_ID_MAX) ||
		    (arg && alen > STORE_JSON_MAX)) {
			ad_warn("store",
				"acme request %lld is malformed, "
				"dropped",
				(long long)last);
			continue;
		}
		if (arg) {
			q.arg = xmalloc(alen + 1);
			memcpy(q.arg, arg, alen);
			q.arg[alen] = '\0';
		}
		t->reqs = xrealloc(t->reqs, (t->n + 1) * sizeof(*t->reqs));
		t->reqs[t->n++] = q;
	}
	if (rc != SQLITE_DONE)
		r = store__sqlerr(c->db, rc, "acme requests");
	sqlite3_reset(st);
	sqlite3_clear_bindings(st);
	if (r == 0 && last >= 0) {
		sqlite3_bind_int64(c->st[ST_REQ_DEL], 1, last);
		r = store__step(c, ST_REQ_DEL);
	}
	if (r)
		store__take_clear(t);
	return r;
}

static int
store__op_run(struct store_conn *c, const struct store_op *op)
{
	sqlite3_stmt *st;
	int r;

	switch (op->kind) {
	case OP_REG_PUT:
		st = c->st[ST_REG_PUT];
		store__bind_text(st, 1, op->s1);
		store__bind_text(st, 2, op->s2);
		store__bind_text(st, 3, op->s3);
		store__bind_text(st, 4, op->s4);
		sqlite3_bind_int64(st, 5, op->num);
		return store__step(c, ST_REG_PUT);
	case OP_REG_DEL:
		/* its txt rows go with it (ON DELETE CASCADE) */
		store__bind_text(c->st[ST_REG_DEL], 1, op->s1);
		if ((r = store__step(c, ST_REG_DEL)))
			return r;
		return sqlite3_changes64(c->db) > 0 ? 0 : AD_ENOENT;
	case OP_SET_HASH:
		st = c->st[ST_SET_HASH];
		store__bind_text(st, 1, op->s1);
		store__bind_text(st, 2, op->s2);
		if ((r = store__step(c, ST_SET_HASH)))
			return r;
		return sqlite3_changes64(c->db) > 0 ? 0 : AD_ENOENT;
	case OP_TXT_PUSH:
		return store__op_txt_push(c, op);
	case OP_FN:
		return op->fn(c->db, op->fn_arg);
	case OP_ACCT_PUT:
		store__bind_text(c->st[ST_ACCT_PUT], 1, op->s1);
		return store__step(c, ST_ACCT_PUT);
	case OP_DOM_PUT:
		st = c->st[ST_DOM_PUT];
		store__bind_text(st, 1, op->s1);
		store__bind_text(st, 2, op->s2);
		store__bind_text(st, 3, op->s3);
		sqlite3_bind_int64(st, 4, op->num);
		return store__step(c, ST_DOM_PUT);
	case OP_DOM_DEL:
		store__bind_text(c->st[ST_DOM_DEL], 1, op->s1);
		if ((r = store__step(c, ST_DOM_DEL)))
			return r;
		return sqlite3_changes64(c->db) > 0 ? 0 : AD_ENOENT;
	case OP_REQ_PUT:
		st = c->st[ST_REQ_PUT];
		store__bind_text(st, 1, op->s1);
		store__bind_text(st, 2, op->s2);
		if (op->s3)
			store__bind_text(st, 3, op->s3);
		else
			sqlite3_bind_null(st, 3);
		sqlite3_bind_int64(st, 4, op->num);
		return store__step(c, ST_REQ_PUT);
	case OP_REQ_TAKE:
		return store__op_req_take(c, op->fn_arg);
	}
	return AD_EINVAL;
}

static void
store__fail_range(struct store_op *from, const struct store_op *to)
{
	for (struct store_op *op = from; op != to; op = op->next)
		op->status = AD_EIO;
}

/*
 * Run ops from first on in one transaction, each under its own savepoint.
 * Returns the op at which a new transaction must start because SQLite
 * rolled this one back by itself (SQLITE_FULL, I/O errors: every op of
 * it is then AD_EIO), or NULL when the list is done. *commits counts
 * successful COMMITs.
 */
static struct store_op *
store__txn(struct store_conn *c, struct store_op *first, uint64_t *commits)
{
	struct store_op *op;

	if (store__step(c, ST_BEGIN) != 0) {
		store__fail_range(first, NULL);
		return NULL;
	}
	for (op = first; op; op = op->next) {
		if (store__step(c, ST_SAVEPOINT) != 0) {
			op->status = AD_EIO;
		} else if ((op->status = store__op_run(c, op)) == 0) {
			if (store__step(c, ST_RELEASE) != 0)
				op->status = AD_EIO;
		} else if (!sqlite3_get_autocommit(c->db)) {
			/* ROLLBACK TO keeps the savepoint open */
			if (store__step(c, ST_ROLLBACK_TO) != 0 ||
			    store__step(c, ST_RELEASE) != 0)
				store__step(c, ST_ROLLBACK);
		}
		if (sqlite3_get_autocommit(c->db)) {
			/* the transaction is gone and took first..op along */
			store__fail_range(first, op->next);
			return op->next;
		}
	}
	if (store__step(c, ST_COMMIT) != 0) {
		/* e.g. a deferred constraint, or the fsync failed: nothing
		 * of the batch is durable */
		if (!sqlite3_get_autocommit(c->db))
			store__step(c, ST_ROLLBACK);
		store__fail_range(first, NULL);
		return NULL;
	}
	(*commits)++;
	return NULL;
}

/* Execute a list of ops (statuses set) and account for them. */
static void
store__run_batch(struct srv_store *s, struct store_op *head)
{
	uint64_t t0 = store__mono_us(), commits = 0, ops = 0, fails = 0;
	struct store_op *next = head;

	while (next)
		next = store__txn(&s->w, next, &commits);
	for (struct store_op *op = head; op; op = op->next) {
		ops++;
		if (op->status == AD_EIO)
			fails++;
	}
	uint64_t dt = store__mono_us() - t0;
	pthread_mutex_lock(&s->mu);
	s->st.ops += ops;
	s->st.commits += commits;
	s->st.failures += fails;
	s->st.last_commit_us = dt;
	pthread_mutex_unlock(&s->mu);
}

/* ---- writer thread and delivery ------------------------------------------ */

static void *
store__writer(void *arg)
{
	struct srv_store *s = arg;

	pthread_mutex_lock(&s->mu);
	for (;;) {
		while (!s->q_head && !s->closing)
			pthread_cond_wait(&s->cv, &s->mu);
		if (!s->q_head)
			break; /* closing and drained */
		/* group commit: everything queued meanwhile, bounded */
		struct store_op *head = s->q_head, *tail = head;
		uint64_t n = 1;
		while (tail->next && n < STORE_BATCH_MAX) {
			tail = tail->next;
			n++;
		}
		s->q_head = tail->next;
		if (!s->q_head)
			s->q_tail = NULL;
		tail->next = NULL;
		s->st.queued -= n;
		pthread_mutex_unlock(&s->mu);

		store__run_batch(s, head);

		pthread_mutex_lock(&s->mu);
		if (s->done_tail)
			s->done_tail->next = head;
		else
			s->done_head = head;
		s->done_tail = tail;
		uv_async_send(&s->async);
	}
	pthread_mutex_unlock(&s->mu);
	return NULL;
}

/*
 * Call back finished ops in submission order. Re-entrant: a callback may
 * submit (or close the store); the list in flight lives in s->deliv so an
 * inner call continues where the outer one was.
 */
static void
store__deliver(struct srv_store *s)
{
	for (;;) {
		struct store_op *op = s->deliv;
		if (!op) {
			pthread_mutex_lock(&s->mu);
			op = s->done_head;
			s->done_head = s->done_tail = NULL;
			pthread_mutex_unlock(&s->mu);
			if (!op)
				return;
		}
		s->deliv = op->next;
		if (op->cb)
			op->cb(op->arg, op->status);
		store__op_free(op);
	}
}

static void
store__async_cb(uv_async_t *h)
{
	store__deliver(h->data);
}

static void
store__free(struct srv_store *s)
{
	pthread_cond_destroy(&s->cv);
	pthread_mutex_destroy(&s->mu);
	free(s->path);
	free(s);
}

static void
store__closed(uv_handle_t *h)
{
	store__free(h->data);
}

/* Stop the writer after it drained the queue. */
static void
store__stop_writer(struct srv_store *s)
{
	if (!s->thread_started)
		return;
	pthread_mutex_lock(&s->mu);
	s->closing = true;
	pthread_cond_signal(&s->cv);
	pthread_mutex_unlock(&s->mu);
	pthread_join(s->thread, NULL);
	s->thread_started = false;
}

/* Close the connections (the writer is stopped). */
static void
store__close_dbs(struct srv_store *s)
{
	sqlite3 *w = s->w.db;

	store__conn_close(&s->w);
	/* SQLITE_BUSY here means a statement was left open: a bug */
	if (w && w != s->db && sqlite3_close(w) != SQLITE_OK)
		ad_err("store", "%s: close: %s", s->path, sqlite3_errmsg(w));
	if (s->db && sqlite3_close(s->db) != SQLITE_OK)
		ad_err("store", "%s: close: %s", s->path,
		       sqlite3_errmsg(s->db));
	s->db = NULL;
}

/* The writer must not take the daemon's signals (libuv's handlers run
 * on whichever thread the kernel picks). */
static int
store__start_writer(struct srv_store *s)
{
	sigset_t all, old;

	sigfillset(&all);
	pthread_sigmask(SIG_SETMASK, &all, &old);
	int rc = pthread_create(&s->thread, NULL, store__writer, s);
	pthread_sigmask(SIG_SETMASK, &old, NULL);
	if (rc != 0)
		return -rc;
	s->thread_started = true;
	return 0;
}

int
srv_store_open(uv_loop_t *loop, const char *path, struct srv_store **out,
	       char *err, size_t errlen)
{
	struct srv_store *s;
	int r;

	*out = NULL;
	store__seterr(err, errlen, "%s", "");
	if (!path || !*path) {
		store__seterr(err, errlen, "empty database path");
		return AD_EINVAL;
	}
	if ((r = store__mkdirs(path, err, errlen)) ||
	    (r = store__precreate(path, err, errlen)))
		return r;

	s = xcalloc(1, sizeof(*s));
	s->loop = loop;
	s->path = xstrdup(path);
	pthread_mutex_init(&s->mu, NULL);
	pthread_cond_init(&s->cv, NULL);

	if ((r = store__connect(path, &s->db, err, errlen)) ||
	    (r = store__quick_check(s->db, path, err, errlen)) ||
	    (r = store__migrate(s->db, path, err, errlen)))
		goto fail;
	if (loop) {
		if ((r = store__connect(path, &s->w.db, err, errlen)))
			goto fail;
	} else {
		s->w.db = s->db;
	}
	if ((r = store__prepare(&s->w, path, err, errlen)))
		goto fail;
	if (loop) {
		/* nothing is queued yet, so the writer cannot touch the
		 * async handle before it is initialised below */
		if ((r = store__start_writer(s))) {
			store__seterr(err, errlen, "%s: writer thread: %s",
				      path, strerror(-r));
			goto fail;
		}
		if ((r = uv_async_init(loop, &s->async, store__async_cb))) {
			store__seterr(err, errlen, "%s: uv_async_init: %s",
				      path, uv_strerror(r));
			r = AD_EIO;
			goto fail;
		}
		s->async.data = s;
	}
	*out = s;
	return 0;
fail:
	store__stop_writer(s);
	store__close_dbs(s);
	store__free(s);
	return r;
}

void
srv_store_close(struct srv_store *s)
{
	if (!s)
		return;
	if (!s->loop) {
		store__close_dbs(s);
		store__free(s);
		return;
	}
	store__stop_writer(s);
	store__close_dbs(s);
	store__deliver(s);
	uv_close((uv_handle_t *)&s->async, store__closed);
}

/* ---- submitting ---------------------------------------------------------- */

static struct store_op *
store__op_new(enum store_op_kind kind, const char *s1, const char *s2,
	      const char *s3, const char *s4)
{
	const char *in[4] = {s1, s2, s3, s4};
	size_t len[4], total = 0;

	for (int i = 0; i < 4; i++) {
		len[i] = in[i] ? strlen(in[i]) + 1 : 0;
		total += len[i];
	}
	struct store_op *op = xcalloc(1, sizeof(*op) + total);
	const char **outp[4] = {&op->s1, &op->s2, &op->s3, &op->s4};
	char *p = op->buf;
	for (int i = 0; i < 4; i++) {
		if (!in[i])
			continue;
		memcpy(p, in[i], len[i]);
		*outp[i] = p;
		p += len[i];
	}
	op->kind = kind;
	op->buflen = total;
	return op;
}

/*
 * Queue op (loop mode) or run it now and call back (synchronous mode).
 * Takes op. AD_EINVAL once closing started (op freed, no callback).
 */
static int
store__submit(struct srv_store *s, struct store_op *op, srv_store_cb cb,
	      void *arg)
{
	op->cb = cb;
	op->arg = arg;
	if (!s->loop) {
		store__run_batch(s, op);
		if (cb)
			cb(arg, op->status);
		store__op_free(op);
		return 0;
	}
	pthread_mutex_lock(&s->mu);
	if (s->closing) {
		pthread_mutex_unlock(&s->mu);
		store__op_free(op);
		return AD_EINVAL;
	}
	if (s->q_tail)
		s->q_tail->next = op;
	else
		s->q_head = op;
	s->q_tail = op;
	s->st.queued++;
	pthread_cond_signal(&s->cv);
	pthread_mutex_unlock(&s->mu);
	return 0;
}

/* Non-empty and at most max bytes. */
static bool
store__str_ok(const char *p, size_t max)
{
	return p && p[0] && strnlen(p, max + 1) <= max;
}

int
srv_store_reg_put(struct srv_store *s, const struct srv_store_reg *r,
		  srv_store_cb cb, void *arg)
{
	const char *allow = r->allowfrom ? r->allowfrom : "[]";

	if (!store__str_ok(r->username, SRV_UUID_LEN) ||
	    !store__str_ok(r->subdomain, SRV_UUID_LEN) ||
	    !store__str_ok(r->hash, SRV_HASH_MAX) ||
	    !store__str_ok(allow, STORE_ALLOW_MAX))
		return AD_EINVAL;
	struct store_op *op = store__op_new(OP_REG_PUT, r->username,
					    r->subdomain, r->hash, allow);
	op->num = r->created;
	return store__submit(s, op, cb, arg);
}

int
srv_store_reg_delete(struct srv_store *s, const char *username, srv_store_cb cb,
		     void *arg)
{
	if (!store__str_ok(username, SRV_UUID_LEN))
		return AD_EINVAL;
	return store__submit(
	    s, store__op_new(OP_REG_DEL, username, NULL, NULL, NULL), cb, arg);
}

int
srv_store_reg_set_hash(struct srv_store *s, const char *username,
		       const char *hash, srv_store_cb cb, void *arg)
{
	if (!store__str_ok(username, SRV_UUID_LEN) ||
	    !store__str_ok(hash, SRV_HASH_MAX))
		return AD_EINVAL;
	return store__submit(
	    s, store__op_new(OP_SET_HASH, username, hash, NULL, NULL), cb, arg);
}

int
srv_store_txt_push(struct srv_store *s, const char *subdomain,
		   const char *value, int64_t updated_ms, unsigned slots,
		   srv_store_cb cb, void *arg)
{
	/* the same limits as zone_txt_push(), which the memory copy got */
	if (!store__str_ok(subdomain, SRV_UUID_LEN) ||
	    !store__str_ok(value, ZONE_TXT_MAX) || slots == 0 ||
	    slots > ZONE_TXT_COUNT)
		return AD_EINVAL;
	struct store_op *op =
	    store__op_new(OP_TXT_PUSH, subdomain, value, NULL, NULL);
	op->num = updated_ms;
	op->slots = slots;
	return store__submit(s, op, cb, arg);
}

int
srv_store_submit(struct srv_store *s, srv_store_txn_fn fn, void *fn_arg,
		 srv_store_cb cb, void *arg)
{
	if (!fn)
		return AD_EINVAL;
	struct store_op *op = store__op_new(OP_FN, NULL, NULL, NULL, NULL);
	op->fn = fn;
	op->fn_arg = fn_arg;
	return store__submit(s, op, cb, arg);
}

/* ---- ACME state ---------------------------------------------------------- */

/* A domain id or op name: printable ASCII, no spaces, 1..max bytes. */
static bool
store__word_ok(const char *p, size_t max)
{
	if (!store__str_ok(p, max))
		return false;
	for (; *p; p++)
		if (*p <= 0x20 || *p >= 0x7f)
			return false;
	return true;
}

int
srv_store_account_put(struct srv_store *s, const char *json, srv_store_cb cb,
		      void *arg)
{
	if (!store__str_ok(json, STORE_JSON_MAX))
		return AD_EINVAL;
	return store__submit(
	    s, store__op_new(OP_ACCT_PUT, json, NULL, NULL, NULL), cb, arg);
}

int
srv_store_domain_put(struct srv_store *s, const char *id, const char *owner,
		     const char *json, srv_store_cb cb, void *arg)
{
	/* owner "" is the daemon's own (the [api] tls = acme certificate) */
	if (!store__word_ok(id, STORE_ID_MAX) || !owner ||
	    strnlen(owner, STORE_ID_MAX + 1) > STORE_ID_MAX ||
	    !store__str_ok(json, STORE_JSON_MAX))
		return AD_EINVAL;
	struct store_op *op = store__op_new(OP_DOM_PUT, id, owner, json, NULL);
	op->num = (int64_t)(ad_now_ms() / 1000);
	return store__submit(s, op, cb, arg);
}

int
srv_store_domain_delete(struct srv_store *s, const char *id, srv_store_cb cb,
			void *arg)
{
	if (!store__word_ok(id, STORE_ID_MAX))
		return AD_EINVAL;
	return store__submit(s, store__op_new(OP_DOM_DEL, id, NULL, NULL, NULL),
			     cb, arg);
}

int
srv_store_request_put(struct srv_store *s, const char *op_name,
		      const char *domain_id, const char *arg_text,
		      srv_store_cb cb, void *arg)
{
	/* the sizes of struct srv_store_request, which delivers them */
	if (!store__word_ok(op_name, STORE_OP_MAX) ||
	    !store__word_ok(domain_id, STORE_ID_MAX) ||
	    (arg_text &&
	     strnlen(arg_text, STORE_JSON_MAX + 1) > STORE_JSON_MAX))
		return AD_EINVAL;
	struct store_op *op =
	    store__op_new(OP_REQ_PUT, op_name, domain_id, arg_text, NULL);
	op->num = (int64_t)(ad_now_ms() / 1000);
	return store__submit(s, op, cb, arg);
}

/* Loop side of a take: hand the requests over only if the deletion
 * committed (else they stay queued for the next take). */
static void
store__take_done(void *arg, int status)
{
	struct store_take *t = arg;

	for (size_t i = 0; status == 0 && i < t->n; i++)
		t->fn(t->arg, &t->reqs[i]);
	if (t->done)
		t->done(t->arg, status);
	store__take_clear(t);
	free(t);
}

int
srv_store_requests_take(struct srv_store *s,
			void (*fn)(void *arg,
				   const struct srv_store_request *r),
			srv_store_cb done, void *arg)
{
	if (!fn)
		return AD_EINVAL;
	struct store_take *t = xcalloc(1, sizeof(*t));
	t->fn = fn;
	t->done = done;
	t->arg = arg;
	struct store_op *op =
	    store__op_new(OP_REQ_TAKE, NULL, NULL, NULL, NULL);
	op->fn_arg = t;
	int r = store__submit(s, op, store__take_done, t);
	if (r)
		free(t); /* refused while closing: no callback */
	return r;
}

void
srv_store_stats(struct srv_store *s, struct srv_store_stats *out)
{
	pthread_mutex_lock(&s->mu);
	*out = s->st;
	pthread_mutex_unlock(&s->mu);
}

/* ---- load ---------------------------------------------------------------- */

/* Copy column i (text, at most max bytes) into dst; false if longer. */
static bool
store__col_copy(sqlite3_stmt *st, int i, char *dst, size_t max)
{
	const unsigned char *t = sqlite3_column_text(st, i);
	size_t n = (size_t)sqlite3_column_bytes(st, i);

	if (!t || n > max)
		return false;
	memcpy(dst, t, n);
	dst[n] = '\0';
	return true;
}

static int
store__load_regs(sqlite3 *db, const struct srv_store_visitor *v, void *arg)
{
	static const char sql[] = "SELECT username, subdomain, hash, "
				  "allowfrom, created, id FROM registrations "
				  "ORDER BY id";
	sqlite3_stmt *st = NULL;
	struct srv_store_reg r;
	int rc, ret = 0;

	if ((rc = sqlite3_prepare_v2(db, sql, -1, &st, NULL)) != SQLITE_OK)
		return store__sqlerr(db, rc, "load registrations");
	while ((rc = sqlite3_step(st)) == SQLITE_ROW) {
		if (!store__col_copy(st, 0, r.username, SRV_UUID_LEN) ||
		    !store__col_copy(st, 1, r.subdomain, SRV_UUID_LEN) ||
		    !store__col_copy(st, 2, r.hash, SRV_HASH_MAX)) {
			/* only an outside edit makes these; no secrets in
			 * the message */
			ad_warn("store",
				"registration id %lld has an "
				"oversized column, skipped",
				(long long)sqlite3_column_int64(st, 5));
			continue;
		}
		const unsigned char *a = sqlite3_column_text(st, 3);
		r.allowfrom = a ? (const char *)a : "[]";
		r.created = sqlite3_column_int64(st, 4);
		if (v->reg && (ret = v->reg(arg, &r)) != 0)
			break;
	}
	explicit_bzero(r.hash, sizeof(r.hash));
	if (ret == 0 && rc != SQLITE_DONE)
		ret = store__sqlerr(db, rc, "load registrations");
	sqlite3_finalize(st);
	return ret;
}

static int
store__load_txt(sqlite3 *db, const struct srv_store_visitor *v, void *arg)
{
	/* oldest first, so that zone_txt_push() rebuilds the same sets */
	static const char sql[] = "SELECT subdomain, value, updated FROM txt "
				  "ORDER BY subdomain, updated, value";
	sqlite3_stmt *st = NULL;
	int rc, ret = 0;

	if ((rc = sqlite3_prepare_v2(db, sql, -1, &st, NULL)) != SQLITE_OK)
		return store__sqlerr(db, rc, "load txt");
	while ((rc = sqlite3_step(st)) == SQLITE_ROW) {
		const unsigned char *sub = sqlite3_column_text(st, 0);
		const unsigned char *val = sqlite3_column_text(st, 1);
		if (!sub || !val)
			continue;
		if (v->txt &&
		    (ret = v->txt(arg, (const char *)sub, (const char *)val,
				  sqlite3_column_int64(st, 2))) != 0)
			break;
	}
	if (ret == 0 && rc != SQLITE_DONE)
		ret = store__sqlerr(db, rc, "load txt");
	sqlite3_finalize(st);
	return ret;
}

int
srv_store_load(struct srv_store *s, const struct srv_store_visitor *v,
	       void *arg)
{
	int r;

	/* one read transaction: both tables from the same snapshot */
	if ((r = store__exec(s->db, "BEGIN")))
		return r;
	r = store__load_regs(s->db, v, arg);
	if (r == 0)
		r = store__load_txt(s->db, v, arg);
	store__exec(s->db, "COMMIT");
	/* the pages read at start-up are not needed again */
	sqlite3_db_release_memory(s->db);
	return r;
}

static int
store__load_account(sqlite3 *db, const struct srv_store_acme_visitor *v,
		    void *arg)
{
	static const char sql[] = "SELECT json FROM acme_account WHERE id = 1";
	sqlite3_stmt *st = NULL;
	int rc, ret = 0;

	if ((rc = sqlite3_prepare_v2(db, sql, -1, &st, NULL)) != SQLITE_OK)
		return store__sqlerr(db, rc, "load acme account");
	rc = sqlite3_step(st);
	if (rc == SQLITE_ROW) {
		const unsigned char *j = sqlite3_column_text(st, 0);
		if (j && v->account)
			ret = v->account(arg, (const char *)j);
		rc = SQLITE_DONE;
	}
	if (ret == 0 && rc != SQLITE_DONE)
		ret = store__sqlerr(db, rc, "load acme account");
	/* the text holds the account's private key: do not leave it in
	 * SQLite's page cache longer than needed */
	sqlite3_finalize(st);
	return ret;
}

static int
store__load_domains(sqlite3 *db, const struct srv_store_acme_visitor *v,
		    void *arg)
{
	static const char sql[] = "SELECT id, owner, json FROM acme_domains "
				  "ORDER BY rowid";
	sqlite3_stmt *st = NULL;
	int rc, ret = 0;

	if ((rc = sqlite3_prepare_v2(db, sql, -1, &st, NULL)) != SQLITE_OK)
		return store__sqlerr(db, rc, "load acme domains");
	while ((rc = sqlite3_step(st)) == SQLITE_ROW) {
		const unsigned char *id = sqlite3_column_text(st, 0);
		const unsigned char *own = sqlite3_column_text(st, 1);
		const unsigned char *j = sqlite3_column_text(st, 2);
		if (!id || !own || !j)
			continue;
		if (v->domain &&
		    (ret = v->domain(arg, (const char *)id, (const char *)own,
				     (const char *)j)) != 0)
			break;
	}
	if (ret == 0 && rc != SQLITE_DONE)
		ret = store__sqlerr(db, rc, "load acme domains");
	sqlite3_finalize(st);
	return ret;
}

int
srv_store_acme_load(struct srv_store *s, const struct srv_store_acme_visitor *v,
		    void *arg)
{
	int r;

	/* one snapshot for the account and the domains */
	if ((r = store__exec(s->db, "BEGIN")))
		return r;
	r = store__load_account(s->db, v, arg);
	if (r == 0)
		r = store__load_domains(s->db, v, arg);
	store__exec(s->db, "COMMIT");
	sqlite3_db_release_memory(s->db);
	return r;
}

/* ---- import from joohoi/acme-dns ----------------------------------------- */

/* 8-4-4-4-12 hex digits (either case). */
static bool
store__uuid_shaped(const unsigned char *p, size_t n)
{
	if (n != SRV_UUID_LEN)
		return false;
	for (size_t i = 0; i < n; i++) {
		if (i == 8 || i == 13 || i == 18 || i == 23) {
			if (p[i] != '-')
				return false;
		} else if (!isxdigit(p[i])) {
			return false;
		}
	}
	return true;
}

static void
store__lower_copy(char *dst, const unsigned char *src, size_t n)
{
	for (size_t i = 0; i < n; i++)
		dst[i] = (char)tolower(src[i]);
	dst[n] = '\0';
}

/* Something safe to log for an untrusted name. */
static void
store__printable(char *dst, size_t dstlen, const unsigned char *src, size_t n)
{
	size_t i;

	if (!src)
		n = 0;
	for (i = 0; i < n && i + 1 < dstlen; i++)
		dst[i] = isalnum(src[i]) || src[i] == '-' ? (char)src[i] : '?';
	dst[i] = '\0';
}

/* Does src have table `name` with all of cols (case-insensitive)? */
static int
store__import_check(sqlite3 *src, const char *path, const char *name,
		    const char *const *cols, size_t ncols, char *err,
		    size_t errlen)
{
	char sql[64];
	sqlite3_stmt *st = NULL;
	unsigned found = 0, ncol = 0;
	int rc;

	snprintf(sql, sizeof(sql), "PRAGMA table_info(%s)", name);
	if ((rc = sqlite3_prepare_v2(src, sql, -1, &st, NULL)) != SQLITE_OK)
		goto sqlfail;
	while ((rc = sqlite3_step(st)) == SQLITE_ROW) {
		const char *c = (const char *)sqlite3_column_text(st, 1);
		ncol++;
		for (size_t i = 0; c && i < ncols; i++)
			if (strcasecmp(c, cols[i]) == 0)
				found |= 1u << i;
	}
	if (rc != SQLITE_DONE)
		goto sqlfail;
	sqlite3_finalize(st);
	if (ncol == 0) {
		store__seterr(err, errlen,
			      "%s: not an acme-dns database (no %s table)",
			      path, name);
		return AD_EMALF;
	}
	for (size_t i = 0; i < ncols; i++) {
		if (!(found & (1u << i))) {
			store__seterr(err, errlen,
				      "%s: not an acme-dns database (table %s "
				      "has no %s column)",
				      path, name, cols[i]);
			return AD_EMALF;
		}
	}
	return 0;
sqlfail:
	store__seterr(err, errlen, "%s: %s", path, sqlite3_errmsg(src));
	sqlite3_finalize(st);
	return AD_EIO;
}

/* Does this AllowFrom text look like a JSON array? The API layer parses
 * and validates the CIDRs when it loads them. */
static bool
store__json_array(const unsigned char *p, size_t n)
{
	while (n && isspace(p[n - 1]))
		n--;
	while (n && isspace(*p)) {
		p++;
		n--;
	}
	return n >= 2 && p[0] == '[' && p[n - 1] == ']' && !memchr(p, '\0', n);
}

struct store_import {
	struct srv_store *s;
	sqlite3 *src;
	const char *path;
	sqlite3_stmt *rd, *ins, *mark;
	struct srv_import_stats n;
	int64_t now;
};

/*
 * One acme-dns record. 0 (imported or skipped, counted) or AD_EIO.
 * acme-dns writes the bcrypt hash as a BLOB; reading it as bytes works for
 * TEXT too and keeps it byte-exact.
 */
static int
store__import_reg(struct store_import *im, int64_t row)
{
	sqlite3_stmt *rd = im->rd;
	const unsigned char *user = sqlite3_column_blob(rd, 0);
	size_t ulen = (size_t)sqlite3_column_bytes(rd, 0);
	const unsigned char *pw = sqlite3_column_blob(rd, 1);
	size_t pwlen = (size_t)sqlite3_column_bytes(rd, 1);
	const unsigned char *sub = sqlite3_column_blob(rd, 2);
	size_t slen = (size_t)sqlite3_column_bytes(rd, 2);
	const unsigned char *allow = sqlite3_column_blob(rd, 3);
	size_t alen = (size_t)sqlite3_column_bytes(rd, 3);
	char u[SRV_UUID_LEN + 1], d[SRV_UUID_LEN + 1], h[SRV_HASH_MAX + 1];
	const char *why = NULL;

	if (!user || !store__uuid_shaped(user, ulen))
		why = "user name is not a UUID";
	else if (!sub || !store__uuid_shaped(sub, slen))
		/* the in-memory table keeps subdomains as binary UUIDs */
		why = "subdomain is not a UUID";
	else if (!pw || pwlen < 7 || pwlen > SRV_HASH_MAX ||
		 (memcmp(pw, "$2a$", 4) != 0 && memcmp(pw, "$2b$", 4) != 0 &&
		  memcmp(pw, "$2y$", 4) != 0))
		why = "password is not a bcrypt hash";
	else if (allow && alen > 0 &&
		 (alen > STORE_ALLOW_MAX || !store__json_array(allow, alen)))
		why = "AllowFrom is not a JSON array";
	for (size_t i = 0; !why && i < pwlen; i++)
		if (pw[i] < 0x21 || pw[i] > 0x7e)
			why = "password is not a bcrypt hash";
	if (why) {
		char name[48];
		store__printable(name, sizeof(name), user, ulen);
		ad_warn("store", "%s: record %lld (user %s): %s, skipped",
			im->path, (long long)row, name[0] ? name : "?", why);
		im->n.skipped++;
		return 0;
	}

	store__lower_copy(u, user, ulen);
	store__lower_copy(d, sub, slen);
	memcpy(h, pw, pwlen);
	h[pwlen] = '\0';
	sqlite3_bind_text(im->ins, 1, u, -1, SQLITE_STATIC);
	sqlite3_bind_text(im->ins, 2, d, -1, SQLITE_STATIC);
	sqlite3_bind_text(im->ins, 3, h, -1, SQLITE_STATIC);
	if (allow && alen > 0)
		sqlite3_bind_text(im->ins, 4, (const char *)allow, (int)alen,
				  SQLITE_TRANSIENT);
	else
		sqlite3_bind_text(im->ins, 4, "[]", -1, SQLITE_STATIC);
	sqlite3_bind_int64(im->ins, 5, im->now);
	int rc = sqlite3_step(im->ins);
	sqlite3_reset(im->ins);
	sqlite3_clear_bindings(im->ins);
	explicit_bzero(h, sizeof(h));
	if (rc != SQLITE_DONE)
		return store__sqlerr(im->s->db, rc, "import registration");
	if (sqlite3_changes64(im->s->db) == 0) {
		ad_debug("store",
			 "%s: user %s or its subdomain exists, "
			 "skipped",
			 im->path, u);
		im->n.skipped++;
		return 0;
	}
	im->n.regs++;
	sqlite3_bind_text(im->mark, 1, d, -1, SQLITE_STATIC);
	rc = sqlite3_step(im->mark);
	sqlite3_reset(im->mark);
	if (rc != SQLITE_DONE)
		return store__sqlerr(im->s->db, rc, "import registration");
	return 0;
}

static int
store__import_regs(struct store_import *im)
{
	sqlite3 *db = im->s->db;
	int rc, r = 0;
	int64_t row = 0;

	if ((rc = sqlite3_prepare_v2(im->src,
				     "SELECT Username, Password, Subdomain, "
				     "AllowFrom FROM records",
				     -1, &im->rd, NULL)) != SQLITE_OK)
		return store__sqlerr(im->src, rc, im->path);
	if ((rc = sqlite3_prepare_v2(
		 db,
		 "INSERT OR IGNORE INTO registrations"
		 "(username, subdomain, hash, allowfrom, created)"
		 " VALUES (?1, ?2, ?3, ?4, ?5)",
		 -1, &im->ins, NULL)) != SQLITE_OK ||
	    (rc = sqlite3_prepare_v2(db,
				     "INSERT INTO temp.import_subs "
				     "VALUES (?1)",
				     -1, &im->mark, NULL)) != SQLITE_OK)
		return store__sqlerr(db, rc, "import");
	while ((rc = sqlite3_step(im->rd)) == SQLITE_ROW)
		if ((r = store__import_reg(im, ++row)))
			return r;
	if (rc != SQLITE_DONE)
		return store__sqlerr(im->src, rc, im->path);
	return 0;
}

/* TXT values of the registrations imported just now, newest
 * ZONE_TXT_COUNT per subdomain; acme-dns's LastUpdate is in seconds. */
static int
store__import_txts(struct store_import *im)
{
	sqlite3 *db = im->s->db;
	sqlite3_stmt *rd = NULL, *ins = NULL;
	char cur[SRV_UUID_LEN + 1] = "", d[SRV_UUID_LEN + 1];
	unsigned kept = 0;
	int rc, r = 0;

	if ((rc = sqlite3_prepare_v2(im->src,
				     "SELECT Subdomain, Value, LastUpdate "
				     "FROM txt ORDER BY lower(Subdomain), "
				     "LastUpdate DESC",
				     -1, &rd, NULL)) != SQLITE_OK) {
		r = store__sqlerr(im->src, rc, im->path);
		goto out;
	}
	if ((rc = sqlite3_prepare_v2(
		 db,
		 "INSERT OR IGNORE INTO txt(subdomain, value, updated)"
		 " SELECT ?1, ?2, ?3 WHERE EXISTS (SELECT 1 FROM "
		 "temp.import_subs WHERE subdomain = ?1)",
		 -1, &ins, NULL)) != SQLITE_OK) {
		r = store__sqlerr(db, rc, "import txt");
		goto out;
	}
	while ((rc = sqlite3_step(rd)) == SQLITE_ROW) {
		const unsigned char *sub = sqlite3_column_blob(rd, 0);
		size_t slen = (size_t)sqlite3_column_bytes(rd, 0);
		const unsigned char *val = sqlite3_column_blob(rd, 1);
		size_t vlen = (size_t)sqlite3_column_bytes(rd, 1);
		if (!sub || !store__uuid_shaped(sub, slen) || !val ||
		    vlen == 0 || vlen > ZONE_TXT_MAX || memchr(val, 0, vlen))
			continue;
		store__lower_copy(d, sub, slen);
		if (strcmp(d, cur) != 0) {
			memcpy(cur, d, sizeof(cur));
			kept = 0;
		}
		if (kept >= ZONE_TXT_COUNT)
			continue;
		sqlite3_bind_text(ins, 1, d, -1, SQLITE_STATIC);
		sqlite3_bind_text(ins, 2, (const char *)val, (int)vlen,
				  SQLITE_STATIC);
		sqlite3_bind_int64(ins, 3, sqlite3_column_int64(rd, 2) * 1000);
		int irc = sqlite3_step(ins);
		sqlite3_reset(ins);
		sqlite3_clear_bindings(ins);
		if (irc != SQLITE_DONE) {
			r = store__sqlerr(db, irc, "import txt");
			goto out;
		}
		if (sqlite3_changes64(db) > 0) {
			im->n.txts++;
			kept++;
		}
	}
	if (rc != SQLITE_DONE)
		r = store__sqlerr(im->src, rc, im->path);
out:
	sqlite3_finalize(rd);
	sqlite3_finalize(ins);
	return r;
}

int
srv_store_import_acmedns(struct srv_store *s, const char *path,
			 struct srv_import_stats *st, char *err, size_t errlen)
{
	static const char *const rcols[] = {"Username", "Password", "Subdomain",
					    "AllowFrom"};
	static const char *const tcols[] = {"Subdomain", "Value", "LastUpdate"};
	struct store_import im = {.s = s, .path = path};
	struct stat sb;
	int r, rc;

	memset(st, 0, sizeof(*st));
	store__seterr(err, errlen, "%s", "");
	if (stat(path, &sb) != 0) {
		r = -errno;
		store__seterr(err, errlen, "%s: %s", path, strerror(errno));
		return r;
	}
	rc = sqlite3_open_v2(path, &im.src,
			     SQLITE_OPEN_READONLY | SQLITE_OPEN_NOMUTEX, NULL);
	if (rc != SQLITE_OK) {
		store__seterr(err, errlen, "%s: %s", path,
			      im.src ? sqlite3_errmsg(im.src)
				     : sqlite3_errstr(rc));
		sqlite3_close(im.src);
		return AD_EIO;
	}
	/* a file from elsewhere: no schema-defined functions or views
	 * with side effects, no writes through the schema */
	sqlite3_db_config(im.src, SQLITE_DBCONFIG_TRUSTED_SCHEMA, 0, NULL);
	sqlite3_db_config(im.src, SQLITE_DBCONFIG_DEFENSIVE, 1, NULL);
	sqlite3_busy_timeout(im.src, STORE_BUSY_MS);
	if ((r = store__import_check(im.src, path, "records", rcols,
				     AD_ARRAY_SIZE(rcols), err, errlen)) ||
	    (r = store__import_check(im.src, path, "txt", tcols,
				     AD_ARRAY_SIZE(tcols), err, errlen)))
		goto out;

	/* acme-dns keeps no creation time: the import's */
	im.now = (int64_t)(ad_now_ms() / 1000);
	if ((r = store__exec(s->db, "BEGIN IMMEDIATE"))) {
		store__seterr(err, errlen, "%s: %s", s->path,
			      sqlite3_errmsg(s->db));
		goto out;
	}
	/* subdomains imported in this run: only their TXT values follow */
	if ((r = store__exec(s->db, "DROP TABLE IF EXISTS temp.import_subs;"
				    "CREATE TEMP TABLE import_subs"
				    "(subdomain TEXT PRIMARY KEY) "
				    "WITHOUT ROWID")) ||
	    (r = store__import_regs(&im)) || (r = store__import_txts(&im))) {
		store__seterr(err, errlen, "%s: import failed: %s", path,
			      r == AD_EIO ? sqlite3_errmsg(s->db)
					  : ad_strerror(r));
		goto rollback;
	}
	/* finalize before DROP (an open statement would block it) */
	sqlite3_finalize(im.rd);
	sqlite3_finalize(im.ins);
	sqlite3_finalize(im.mark);
	im.rd = im.ins = im.mark = NULL;
	if ((r = store__exec(s->db, "DROP TABLE temp.import_subs")) ||
	    (r = store__exec(s->db, "COMMIT"))) {
		store__seterr(err, errlen, "%s: commit failed: %s", s->path,
			      sqlite3_errmsg(s->db));
		goto rollback;
	}
	*st = im.n;
	ad_info("store",
		"%s: imported %zu registrations and %zu TXT values, "
		"%zu registrations skipped",
		path, im.n.regs, im.n.txts, im.n.skipped);
	goto out;
rollback:
	sqlite3_finalize(im.rd);
	sqlite3_finalize(im.ins);
	sqlite3_finalize(im.mark);
	im.rd = im.ins = im.mark = NULL;
	/* also drops the temp table, created in this transaction */
	if (!sqlite3_get_autocommit(s->db))
		store__exec(s->db, "ROLLBACK");
out:
	sqlite3_finalize(im.rd);
	sqlite3_finalize(im.ins);
	sqlite3_finalize(im.mark);
	sqlite3_close(im.src);
	return r;
}
