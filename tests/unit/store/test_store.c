/* SPDX-License-Identifier: MIT */
/*
 * Unit tests of the SQLite store (server/store.c) against real files in a
 * fresh temporary directory per test: opening (modes 0700/0600, WAL, the
 * schema version, reopening, refusing a newer schema), the synchronous
 * mode's status codes, the TXT rotation rule of zone_txt_push(), the
 * load, the loop mode's group commit with per-operation savepoints and
 * in-order callbacks, closing with writes in flight, durability of
 * acknowledged writes across SIGKILL, the acme-dns import, and the ACME
 * state of migration 2 (account row, domain rows, the CLI's request queue
 * taken in one transaction and delivered on the loop thread).
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h>

#include <crypt.h>
#include <errno.h>
#include <fcntl.h>
#include <ftw.h>
#include <pthread.h>
#include <semaphore.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include <sqlite3.h>

#include "common/errors.h"
#include "server/store.h"

#define PENDING 12345 /* status not delivered yet */

struct fx {
	char dir[64];
	char path[128];
};

static int
setup(void **state)
{
	struct fx *f = calloc(1, sizeof(*f));
	snprintf(f->dir, sizeof(f->dir), "/tmp/adstore.XXXXXX");
	if (!mkdtemp(f->dir))
		return -1;
	snprintf(f->path, sizeof(f->path), "%s/acmedns.db", f->dir);
	*state = f;
	return 0;
}

static int
rm_one(const char *p, const struct stat *sb, int flag, struct FTW *ftw)
{
	(void)sb;
	(void)flag;
	(void)ftw;
	return remove(p);
}

static int
teardown(void **state)
{
	struct fx *f = *state;
	nftw(f->dir, rm_one, 16, FTW_DEPTH | FTW_PHYS);
	free(f);
	return 0;
}

static void
uuid_of(char *out, unsigned i, unsigned kind)
{
	snprintf(out, SRV_UUID_LEN + 1, "%08x-%04x-4000-8000-%012x", i, kind,
		 i * 7u);
}

static struct srv_store_reg
mkreg(unsigned i, const char *allow)
{
	struct srv_store_reg r = {.allowfrom = allow, .created = 1700000000};
	uuid_of(r.username, i, 0xaaaa);
	uuid_of(r.subdomain, i, 0x5555);
	snprintf(r.hash, sizeof(r.hash), "$s256$salt%u$digest%u", i, i);
	return r;
}

static void
cb_status(void *arg, int status)
{
	*(int *)arg = status;
}

/* synchronous mode: the status the callback got (PENDING if none) */
static int
put(struct srv_store *s, const struct srv_store_reg *r)
{
	int st = PENDING;
	int rc = srv_store_reg_put(s, r, cb_status, &st);
	return rc ? rc : st;
}

static int
push(struct srv_store *s, const char *sub, const char *val, int64_t ms,
     unsigned slots)
{
	int st = PENDING;
	int rc = srv_store_txt_push(s, sub, val, ms, slots, cb_status, &st);
	return rc ? rc : st;
}

static struct srv_store *
open_sync(const char *path)
{
	struct srv_store *s = NULL;
	char err[256];
	int rc = srv_store_open(NULL, path, &s, err, sizeof(err));
	if (rc)
		fail_msg("open %s: %s", path, err);
	return s;
}

/* ---- a visitor collecting everything ------------------------------------- */

struct coll_reg {
	struct srv_store_reg r;
	char allow[256];
};
struct coll_txt {
	char sub[SRV_UUID_LEN + 1];
	char val[256];
	int64_t upd;
};
struct coll {
	size_t nreg, ntxt;
	struct coll_reg reg[64];
	struct coll_txt txt[256];
	int stop_code;
};

static int
coll_reg(void *arg, const struct srv_store_reg *r)
{
	struct coll *c = arg;
	assert_true(c->nreg < 64);
	struct coll_reg *d = &c->reg[c->nreg++];
	d->r = *r;
	snprintf(d->allow, sizeof(d->allow), "%s", r->allowfrom);
	d->r.allowfrom = d->allow;
	return c->stop_code;
}

static int
coll_txt(void *arg, const char *sub, const char *val, int64_t upd)
{
	struct coll *c = arg;
	assert_true(c->ntxt < 256);
	struct coll_txt *d = &c->txt[c->ntxt++];
	snprintf(d->sub, sizeof(d->sub), "%s", sub);
	snprintf(d->val, sizeof(d->val), "%s", val);
	d->upd = upd;
	return 0;
}

static struct coll *
load_all(struct srv_store *s)
{
	static const struct srv_store_visitor v = {coll_reg, coll_txt};
	struct coll *c = calloc(1, sizeof(*c));
	assert_int_equal(srv_store_load(s, &v, c), 0);
	return c;
}

/* "value@ms,..." of sub, in value order */
static void
txt_set(struct srv_store *s, const char *sub, char *out, size_t len)
{
	struct coll *c = load_all(s);
	const char *vals[256];
	size_t n = 0;
	int64_t upd[256];

	for (size_t i = 0; i < c->ntxt; i++) {
		if (strcmp(c->txt[i].sub, sub) != 0)
			continue;
		/* insertion sort by value */
		size_t j = n++;
		while (j > 0 && strcmp(vals[j - 1], c->txt[i].val) > 0) {
			vals[j] = vals[j - 1];
			upd[j] = upd[j - 1];
			j--;
		}
		vals[j] = c->txt[i].val;
		upd[j] = c->txt[i].upd;
	}
	out[0] = '\0';
	for (size_t i = 0; i < n; i++) {
		size_t l = strlen(out);
		snprintf(out + l, len - l, "%s%s@%lld", i ? "," : "", vals[i],
			 (long long)upd[i]);
	}
	free(c);
}

#define assert_txt(s, sub, want)                                               \
	do {                                                                   \
		char got_[1024];                                               \
		txt_set(s, sub, got_, sizeof(got_));                           \
		assert_string_equal(got_, want);                               \
	} while (0)

/* a raw connection beside the store, for inspection and tampering */
static sqlite3 *
raw_open(const char *path)
{
	sqlite3 *db = NULL;
	assert_int_equal(sqlite3_open(path, &db), SQLITE_OK);
	return db;
}

static int64_t
raw_int(sqlite3 *db, const char *sql)
{
	sqlite3_stmt *st = NULL;
	if (sqlite3_prepare_v2(db, sql, -1, &st, NULL) != SQLITE_OK)
		fail_msg("%s: %s", sql, sqlite3_errmsg(db));
	assert_int_equal(sqlite3_step(st), SQLITE_ROW);
	int64_t v = sqlite3_column_int64(st, 0);
	sqlite3_finalize(st);
	return v;
}

static void
raw_text(sqlite3 *db, const char *sql, char *out, size_t len)
{
	sqlite3_stmt *st = NULL;
	if (sqlite3_prepare_v2(db, sql, -1, &st, NULL) != SQLITE_OK)
		fail_msg("%s: %s", sql, sqlite3_errmsg(db));
	assert_int_equal(sqlite3_step(st), SQLITE_ROW);
	snprintf(out, len, "%s", (const char *)sqlite3_column_text(st, 0));
	sqlite3_finalize(st);
}

static void
raw_exec(sqlite3 *db, const char *sql)
{
	char *msg = NULL;
	if (sqlite3_exec(db, sql, NULL, NULL, &msg) != SQLITE_OK)
		fail_msg("%s: %s", sql, msg);
}

static mode_t
mode_of(const char *p)
{
	struct stat sb;
	assert_int_equal(stat(p, &sb), 0);
	return sb.st_mode & 07777;
}

/* ---- opening ------------------------------------------------------------- */

static void
test_open_creates(void **state)
{
	struct fx *f = *state;
	char path[192], d1[160], d2[176], wal[200], mode[16];

	snprintf(d1, sizeof(d1), "%s/a", f->dir);
	snprintf(d2, sizeof(d2), "%s/a/b", f->dir);
	snprintf(path, sizeof(path), "%s/a/b/acmedns.db", f->dir);
	snprintf(wal, sizeof(wal), "%s-wal", path);

	struct srv_store *s = open_sync(path);
	assert_int_equal(mode_of(d1), 0700);
	assert_int_equal(mode_of(d2), 0700);
	assert_int_equal(mode_of(path), 0600);
	assert_int_equal(mode_of(wal), 0600);

	sqlite3 *db = raw_open(path);
	raw_text(db, "PRAGMA journal_mode", mode, sizeof(mode));
	assert_string_equal(mode, "wal");
	assert_int_equal(raw_int(db, "SELECT version FROM schema_version"), 2);
	assert_int_equal(raw_int(db, "SELECT count(*) FROM sqlite_schema "
				     "WHERE name IN ('registrations', 'txt', "
				     "'txt_by_age', 'acme_account', "
				     "'acme_domains', 'acme_domains_by_owner', "
				     "'acme_requests')"),
			 7);
	sqlite3_close(db);
	srv_store_close(s);

	/* reopen: nothing migrates twice */
	s = open_sync(path);
	srv_store_close(s);
	s = open_sync(path);
	srv_store_close(s);
	db = raw_open(path);
	assert_int_equal(raw_int(db, "SELECT count(*) FROM schema_version"), 1);
	assert_int_equal(raw_int(db, "SELECT version FROM schema_version"), 2);
	sqlite3_close(db);
}

static void
test_open_tightens_mode(void **state)
{
	struct fx *f = *state;
	int fd = open(f->path, O_CREAT | O_WRONLY, 0644);
	assert_true(fd >= 0);
	fchmod(fd, 0644);
	close(fd);
	struct srv_store *s = open_sync(f->path);
	assert_int_equal(mode_of(f->path), 0600);
	srv_store_close(s);
}

static void
test_open_newer_schema(void **state)
{
	struct fx *f = *state;
	struct srv_store *s = open_sync(f->path);
	char err[256], want[256];
	srv_store_close(s);

	sqlite3 *db = raw_open(f->path);
	raw_exec(db, "UPDATE schema_version SET version = 99");
	sqlite3_close(db);

	s = (struct srv_store *)1;
	assert_int_not_equal(
	    srv_store_open(NULL, f->path, &s, err, sizeof(err)), 0);
	assert_null(s);
	snprintf(want, sizeof(want),
		 "%s: database schema version 99 is newer than this acmedns "
		 "(2)",
		 f->path);
	assert_string_equal(err, want);
}

static void
test_open_errors(void **state)
{
	struct fx *f = *state;
	struct srv_store *s = NULL;
	char err[256], path[192];

	/* a directory where the file should be */
	assert_int_not_equal(srv_store_open(NULL, f->dir, &s, err, sizeof(err)),
			     0);
	assert_null(s);
	assert_non_null(strstr(err, f->dir));
	/* not a database */
	snprintf(path, sizeof(path), "%s/junk.db", f->dir);
	FILE *fp = fopen(path, "w");
	for (int i = 0; i < 200; i++)
		fputs("this is not an SQLite database\n", fp);
	fclose(fp);
	assert_int_not_equal(srv_store_open(NULL, path, &s, err, sizeof(err)),
			     0);
	assert_non_null(strstr(err, "not a database"));
}

/* ---- synchronous mode ---------------------------------------------------- */

static void
test_sync_ops(void **state)
{
	struct fx *f = *state;
	struct srv_store *s = open_sync(f->path);
	struct srv_store_reg a = mkreg(1, "[\"10.0.0.0/8\"]"),
			     b = mkreg(2, NULL);
	int st;

	assert_int_equal(put(s, &a), 0);
	assert_int_equal(put(s, &b), 0);
	/* duplicate user name; duplicate subdomain under a new user */
	struct srv_store_reg d = mkreg(3, NULL);
	memcpy(d.username, a.username, sizeof(d.username));
	assert_int_equal(put(s, &d), AD_EEXIST);
	d = mkreg(3, NULL);
	memcpy(d.subdomain, b.subdomain, sizeof(d.subdomain));
	assert_int_equal(put(s, &d), AD_EEXIST);

	st = PENDING;
	assert_int_equal(
	    srv_store_reg_set_hash(s, a.username, "$s256$x$y", cb_status, &st),
	    0);
	assert_int_equal(st, 0);
	st = PENDING;
	assert_int_equal(
	    srv_store_reg_set_hash(s, d.username, "$s256$x$y", cb_status, &st),
	    0);
	assert_int_equal(st, AD_ENOENT);
	st = PENDING;
	assert_int_equal(srv_store_reg_delete(s, d.username, cb_status, &st),
			 0);
	assert_int_equal(st, AD_ENOENT);

	assert_int_equal(push(s, d.subdomain, "v", 1, 2), 0); /* b's */
	assert_int_equal(push(s, a.subdomain, "v", 1, 2), 0);
	assert_int_equal(
	    push(s, "ffffffff-0000-4000-8000-000000000000", "v", 1, 2),
	    AD_ENOENT);

	/* invalid arguments: refused at once, no callback */
	st = PENDING;
	assert_int_equal(
	    srv_store_txt_push(s, a.subdomain, "v", 1, 0, cb_status, &st),
	    AD_EINVAL);
	char big[300];
	memset(big, 'x', sizeof(big) - 1);
	big[sizeof(big) - 1] = '\0';
	assert_int_equal(
	    srv_store_txt_push(s, a.subdomain, big, 1, 2, cb_status, &st),
	    AD_EINVAL);
	assert_int_equal(srv_store_reg_delete(s, "", cb_status, &st),
			 AD_EINVAL);
	assert_int_equal(st, PENDING);

	struct coll *c = load_all(s);
	assert_int_equal(c->nreg, 2);
	assert_string_equal(c->reg[0].r.username, a.username);
	assert_string_equal(c->reg[0].r.hash, "$s256$x$y");
	assert_string_equal(c->reg[0].allow, "[\"10.0.0.0/8\"]");
	assert_string_equal(c->reg[1].allow, "[]");
	assert_int_equal(c->reg[1].r.created, 1700000000);
	assert_int_equal(c->ntxt, 2);
	free(c);

	/* deleting a registration takes its TXT values along */
	st = PENDING;
	assert_int_equal(srv_store_reg_delete(s, a.username, cb_status, &st),
			 0);
	assert_int_equal(st, 0);
	c = load_all(s);
	assert_int_equal(c->nreg, 1);
	assert_int_equal(c->ntxt, 1);
	assert_string_equal(c->txt[0].sub, b.subdomain);
	free(c);

	struct srv_store_stats ss;
	srv_store_stats(s, &ss);
	assert_int_equal(ss.ops, 11);
	assert_int_equal(ss.commits, 11);
	assert_int_equal(ss.failures, 0);
	assert_int_equal(ss.queued, 0);
	srv_store_close(s);
}

/* the rule of zone_txt_push(): refresh an equal value; otherwise drop the
 * oldest until fewer than `slots` remain, then add */
static void
test_sync_txt_rotation(void **state)
{
	struct fx *f = *state;
	struct srv_store *s = open_sync(f->path);
	struct srv_store_reg r = mkreg(7, NULL);
	const char *sub = r.subdomain;

	assert_int_equal(put(s, &r), 0);
	assert_int_equal(push(s, sub, "a", 1, 2), 0);
	assert_int_equal(push(s, sub, "b", 2, 2), 0);
	assert_txt(s, sub, "a@1,b@2");
	assert_int_equal(push(s, sub, "c", 3, 2), 0);
	assert_txt(s, sub, "b@2,c@3");
	/* refresh: not duplicated, and now the newer one */
	assert_int_equal(push(s, sub, "b", 4, 2), 0);
	assert_txt(s, sub, "b@4,c@3");
	assert_int_equal(push(s, sub, "d", 5, 2), 0);
	assert_txt(s, sub, "b@4,d@5");

	/* three slots */
	assert_int_equal(push(s, sub, "e", 6, 3), 0);
	assert_txt(s, sub, "b@4,d@5,e@6");
	assert_int_equal(push(s, sub, "f", 7, 3), 0);
	assert_txt(s, sub, "d@5,e@6,f@7");

	/* slots shrank: a refresh only refreshes, a new value trims */
	assert_int_equal(push(s, sub, "e", 8, 1), 0);
	assert_txt(s, sub, "d@5,e@8,f@7");
	assert_int_equal(push(s, sub, "g", 9, 1), 0);
	assert_txt(s, sub, "g@9");
	assert_int_equal(push(s, sub, "h", 10, 3), 0);
	assert_txt(s, sub, "g@9,h@10");

	/* a new value stays even when older than the rest */
	assert_int_equal(push(s, sub, "i", 0, 2), 0);
	assert_txt(s, sub, "h@10,i@0");

	/* equal timestamps: the smallest value goes first */
	assert_int_equal(push(s, sub, "k", 20, 3), 0);
	assert_int_equal(push(s, sub, "j", 20, 3), 0);
	assert_txt(s, sub, "h@10,j@20,k@20");
	assert_int_equal(push(s, sub, "z", 30, 2), 0);
	assert_txt(s, sub, "k@20,z@30");
	srv_store_close(s);
}

static void
test_sync_load(void **state)
{
	struct fx *f = *state;
	struct srv_store *s = open_sync(f->path);

	for (unsigned i = 10; i > 0; i--) {
		struct srv_store_reg r =
		    mkreg(i, i % 2 ? "[]" : "[\"::1/128\"]");
		r.created = i;
		assert_int_equal(put(s, &r), 0);
		assert_int_equal(push(s, r.subdomain, "new", 100 + i, 3), 0);
		assert_int_equal(push(s, r.subdomain, "old", 50 + i, 3), 0);
	}
	struct coll *c = load_all(s);
	assert_int_equal(c->nreg, 10);
	assert_int_equal(c->ntxt, 20);
	/* registrations in insertion order, all fields */
	for (unsigned k = 0; k < 10; k++) {
		unsigned i = 10 - k;
		struct srv_store_reg want = mkreg(i, NULL);
		assert_string_equal(c->reg[k].r.username, want.username);
		assert_string_equal(c->reg[k].r.subdomain, want.subdomain);
		assert_string_equal(c->reg[k].r.hash, want.hash);
		assert_string_equal(c->reg[k].allow,
				    i % 2 ? "[]" : "[\"::1/128\"]");
		assert_int_equal(c->reg[k].r.created, i);
	}
	/* TXT: per subdomain, oldest first */
	for (size_t k = 0; k < 20; k += 2) {
		assert_string_equal(c->txt[k].sub, c->txt[k + 1].sub);
		assert_string_equal(c->txt[k].val, "old");
		assert_string_equal(c->txt[k + 1].val, "new");
		assert_true(c->txt[k].upd < c->txt[k + 1].upd);
	}
	free(c);

	/* a visitor stops the load with its code */
	static const struct srv_store_visitor v = {coll_reg, coll_txt};
	c = calloc(1, sizeof(*c));
	c->stop_code = 42;
	assert_int_equal(srv_store_load(s, &v, c), 42);
	assert_int_equal(c->nreg, 1);
	assert_int_equal(c->ntxt, 0);
	free(c);
	srv_store_close(s);
}

/* generic writes: a failing function's changes are rolled back */
static int
fn_insert_then_fail(struct sqlite3 *db, void *arg)
{
	(void)arg;
	if (sqlite3_exec(db,
			 "INSERT INTO registrations(username, subdomain, hash,"
			 " created) VALUES ('fn-user', 'fn-sub', 'h', 0)",
			 NULL, NULL, NULL) != SQLITE_OK)
		return AD_EIO;
	return AD_EINVAL;
}

static int
fn_insert(struct sqlite3 *db, void *arg)
{
	(void)arg;
	return sqlite3_exec(db,
			    "INSERT INTO registrations(username, subdomain, "
			    "hash, created) VALUES ('fn-ok', 'fn-ok', 'h', 0)",
			    NULL, NULL, NULL) == SQLITE_OK
		   ? 0
		   : AD_EIO;
}

/* succeeds itself, but makes the COMMIT fail (deferred foreign key) */
static int
fn_break_commit(struct sqlite3 *db, void *arg)
{
	(void)arg;
	return sqlite3_exec(db,
			    "PRAGMA defer_foreign_keys = ON;"
			    "INSERT INTO txt VALUES ('no-such-sub', 'v', 1)",
			    NULL, NULL, NULL) == SQLITE_OK
		   ? 0
		   : AD_EIO;
}

static void
test_sync_submit(void **state)
{
	struct fx *f = *state;
	struct srv_store *s = open_sync(f->path);
	int st = PENDING;

	assert_int_equal(
	    srv_store_submit(s, fn_insert_then_fail, NULL, cb_status, &st), 0);
	assert_int_equal(st, AD_EINVAL);
	st = PENDING;
	assert_int_equal(
	    srv_store_submit(s, fn_break_commit, NULL, cb_status, &st), 0);
	assert_int_equal(st, AD_EIO);
	st = PENDING;
	assert_int_equal(srv_store_submit(s, fn_insert, NULL, cb_status, &st),
			 0);
	assert_int_equal(st, 0);

	struct coll *c = load_all(s);
	assert_int_equal(c->nreg, 1);
	assert_string_equal(c->reg[0].r.username, "fn-ok");
	assert_int_equal(c->ntxt, 0);
	free(c);
	struct srv_store_stats ss;
	srv_store_stats(s, &ss);
	assert_int_equal(ss.ops, 3);
	assert_int_equal(ss.commits, 2);
	assert_int_equal(ss.failures, 1);
	srv_store_close(s);
}

/* ---- loop mode ----------------------------------------------------------- */

struct lctx;
struct ack {
	struct lctx *lc;
	int idx;
	int expect;
};
struct lctx {
	struct srv_store *s;
	int next; /* index of the next callback expected */
	int bad_order, bad_status;
	struct ack *acks;
	int resubmit; /* callbacks try to submit (after close) */
	int resubmit_rc;
};

static void
lcb(void *arg, int status)
{
	struct ack *a = arg;
	struct lctx *lc = a->lc;
	if (a->idx != lc->next)
		lc->bad_order++;
	if (status != a->expect) {
		fprintf(stderr, "op %d: status %d, expected %d\n", a->idx,
			status, a->expect);
		lc->bad_status++;
	}
	lc->next++;
	if (lc->resubmit) {
		struct srv_store_reg r = mkreg(99999, NULL);
		lc->resubmit_rc = srv_store_reg_put(lc->s, &r, lcb, a);
	}
}

static struct srv_store *
open_loop(uv_loop_t *loop, const char *path)
{
	struct srv_store *s = NULL;
	char err[256];
	if (srv_store_open(loop, path, &s, err, sizeof(err)))
		fail_msg("open %s: %s", path, err);
	return s;
}

static void
run_until(uv_loop_t *loop, struct lctx *lc, int n)
{
	while (lc->next < n)
		uv_run(loop, UV_RUN_ONCE);
}

static void
close_loop(uv_loop_t *loop, struct srv_store *s)
{
	srv_store_close(s);
	uv_run(loop, UV_RUN_DEFAULT);
	assert_int_equal(uv_loop_close(loop), 0);
}

#define NREGS 1000
#define NOPS (NREGS * 5)

static void
test_loop_group_commit(void **state)
{
	struct fx *f = *state;
	uv_loop_t loop;
	struct lctx lc = {0};
	char val[32];
	int k = 0;

	uv_loop_init(&loop);
	lc.s = open_loop(&loop, f->path);
	lc.acks = calloc(NOPS, sizeof(*lc.acks));
	/* submitted from the loop thread: a put, then four pushes to it */
	for (unsigned i = 0; i < NREGS; i++) {
		struct srv_store_reg r = mkreg(i, NULL);
		lc.acks[k] = (struct ack){&lc, k, 0};
		assert_int_equal(srv_store_reg_put(lc.s, &r, lcb, &lc.acks[k]),
				 0);
		k++;
		for (int j = 0; j < 4; j++) {
			snprintf(val, sizeof(val), "value-%u-%d", i, j);
			lc.acks[k] = (struct ack){&lc, k, 0};
			assert_int_equal(srv_store_txt_push(lc.s, r.subdomain,
							    val, 1000 + j, 2,
							    lcb, &lc.acks[k]),
					 0);
			k++;
		}
	}
	assert_int_equal(k, NOPS);
	run_until(&loop, &lc, NOPS);
	assert_int_equal(lc.next, NOPS);
	assert_int_equal(lc.bad_order, 0);
	assert_int_equal(lc.bad_status, 0);

	struct srv_store_stats ss;
	srv_store_stats(lc.s, &ss);
	print_message("%d ops in %llu commits, last %llu us\n", NOPS,
		      (unsigned long long)ss.commits,
		      (unsigned long long)ss.last_commit_us);
	assert_int_equal(ss.ops, NOPS);
	assert_true(ss.commits < NOPS / 2);
	assert_true(ss.commits >= (NOPS + 1023) / 1024);
	assert_int_equal(ss.queued, 0);
	assert_int_equal(ss.failures, 0);
	close_loop(&loop, lc.s);
	/* nothing fired twice while closing */
	assert_int_equal(lc.next, NOPS);

	struct srv_store *s = open_sync(f->path);
	sqlite3 *db = raw_open(f->path);
	assert_int_equal(raw_int(db, "SELECT count(*) FROM registrations"),
			 NREGS);
	assert_int_equal(raw_int(db, "SELECT count(*) FROM txt"), 2 * NREGS);
	assert_int_equal(raw_int(db, "SELECT count(*) FROM txt WHERE "
				     "value LIKE '%-2' OR value LIKE '%-3'"),
			 2 * NREGS);
	sqlite3_close(db);
	srv_store_close(s);
	free(lc.acks);
}

/* holds the writer inside a batch until the test has queued the next */
struct gate {
	sem_t started, release;
};

static int
gate_fn(struct sqlite3 *db, void *arg)
{
	struct gate *g = arg;
	(void)db;
	sem_post(&g->started);
	sem_wait(&g->release);
	return 0;
}

static void
test_loop_batch_isolation(void **state)
{
	struct fx *f = *state;
	uv_loop_t loop;
	struct lctx lc = {0};
	struct gate g;
	struct ack acks[16];
	int k = 0;

	sem_init(&g.started, 0, 0);
	sem_init(&g.release, 0, 0);
	uv_loop_init(&loop);
	lc.s = open_loop(&loop, f->path);

#define ACK(exp) (acks[k] = (struct ack){&lc, k, (exp)}, &acks[k++])
	struct srv_store_reg a = mkreg(1, NULL), b = mkreg(2, NULL),
			     c = mkreg(3, NULL), x = mkreg(4, NULL),
			     y = mkreg(5, NULL);
	assert_int_equal(srv_store_submit(lc.s, gate_fn, &g, lcb, ACK(0)), 0);
	sem_wait(&g.started);
	/* one batch: failures in the middle leave their neighbours alone */
	assert_int_equal(srv_store_reg_put(lc.s, &a, lcb, ACK(0)), 0);
	assert_int_equal(srv_store_reg_put(lc.s, &b, lcb, ACK(0)), 0);
	assert_int_equal(srv_store_reg_put(lc.s, &a, lcb, ACK(AD_EEXIST)), 0);
	assert_int_equal(srv_store_submit(lc.s, fn_insert_then_fail, NULL, lcb,
					  ACK(AD_EINVAL)),
			 0);
	assert_int_equal(srv_store_txt_push(lc.s, x.subdomain, "v", 1, 2, lcb,
					    ACK(AD_ENOENT)),
			 0);
	assert_int_equal(srv_store_reg_put(lc.s, &c, lcb, ACK(0)), 0);
	assert_int_equal(
	    srv_store_reg_set_hash(lc.s, a.username, "$s256$n$n", lcb, ACK(0)),
	    0);
	assert_int_equal(
	    srv_store_txt_push(lc.s, b.subdomain, "v", 1, 2, lcb, ACK(0)), 0);
	assert_int_equal(
	    srv_store_reg_delete(lc.s, x.username, lcb, ACK(AD_ENOENT)), 0);
	sem_post(&g.release);
	run_until(&loop, &lc, k);

	struct srv_store_stats ss;
	srv_store_stats(lc.s, &ss);
	assert_int_equal(ss.commits, 2);
	assert_int_equal(ss.ops, 10);
	assert_int_equal(ss.failures, 0);

	/* a failing COMMIT fails the whole batch, and only it */
	int n1 = k;
	assert_int_equal(srv_store_submit(lc.s, gate_fn, &g, lcb, ACK(0)), 0);
	sem_wait(&g.started);
	assert_int_equal(srv_store_reg_put(lc.s, &x, lcb, ACK(AD_EIO)), 0);
	assert_int_equal(
	    srv_store_submit(lc.s, fn_break_commit, NULL, lcb, ACK(AD_EIO)), 0);
	assert_int_equal(srv_store_reg_put(lc.s, &y, lcb, ACK(AD_EIO)), 0);
	sem_post(&g.release);
	run_until(&loop, &lc, k);
	assert_int_equal(srv_store_reg_put(lc.s, &y, lcb, ACK(0)), 0);
	run_until(&loop, &lc, k);
#undef ACK
	assert_int_equal(lc.bad_order, 0);
	assert_int_equal(lc.bad_status, 0);
	srv_store_stats(lc.s, &ss);
	assert_int_equal(ss.ops, (uint64_t)k);
	assert_int_equal(ss.failures, (uint64_t)(k - n1 - 2));
	assert_int_equal(ss.commits, 4);
	close_loop(&loop, lc.s);

	struct srv_store *s = open_sync(f->path);
	struct coll *co = load_all(s);
	assert_int_equal(co->nreg, 4); /* a, b, c, y */
	assert_string_equal(co->reg[0].r.username, a.username);
	assert_string_equal(co->reg[0].r.hash, "$s256$n$n");
	assert_string_equal(co->reg[3].r.username, y.username);
	assert_int_equal(co->ntxt, 1);
	free(co);
	srv_store_close(s);
	sem_destroy(&g.started);
	sem_destroy(&g.release);
}

/* close with writes in flight: all commit and call back during close;
 * writes submitted from those callbacks are refused */
static void
test_loop_close_drains(void **state)
{
	struct fx *f = *state;
	uv_loop_t loop;
	struct lctx lc = {0};
	struct ack acks[200];

	uv_loop_init(&loop);
	lc.s = open_loop(&loop, f->path);
	for (int i = 0; i < 200; i++) {
		struct srv_store_reg r = mkreg((unsigned)i, NULL);
		acks[i] = (struct ack){&lc, i, 0};
		assert_int_equal(srv_store_reg_put(lc.s, &r, lcb, &acks[i]), 0);
	}
	lc.resubmit = 1;
	srv_store_close(lc.s);
	/* delivered inside close, before the loop ran again */
	assert_int_equal(lc.next, 200);
	assert_int_equal(lc.resubmit_rc, AD_EINVAL);
	uv_run(&loop, UV_RUN_DEFAULT);
	assert_int_equal(uv_loop_close(&loop), 0);
	assert_int_equal(lc.bad_order, 0);
	assert_int_equal(lc.bad_status, 0);

	struct srv_store *s = open_sync(f->path);
	sqlite3 *db = raw_open(f->path);
	assert_int_equal(raw_int(db, "SELECT count(*) FROM registrations"),
			 200);
	sqlite3_close(db);
	srv_store_close(s);
}

/* ---- durability: acknowledged writes survive SIGKILL --------------------- */

#define DUR_WINDOW 16
#define DUR_MAX (1 << 20)

struct child {
	struct srv_store *s;
	int fd;
	int next; /* next op to submit */
};

struct cop {
	struct child *c;
	int k;
};

static void child_submit(struct child *c);

static void
child_cb(void *arg, int status)
{
	struct cop *o = arg;
	struct child *c = o->c;
	uint32_t k = (uint32_t)o->k | (status ? 0x80000000u : 0);
	free(o);
	if (write(c->fd, &k, sizeof(k)) != sizeof(k))
		_exit(3);
	child_submit(c);
}

/* op k: even = register k/2, odd = a TXT value for registration k/2 */
static void
child_submit(struct child *c)
{
	if (c->next >= DUR_MAX)
		return;
	int k = c->next++;
	struct cop *o = malloc(sizeof(*o));
	o->c = c;
	o->k = k;
	struct srv_store_reg r = mkreg((unsigned)k / 2, NULL);
	char val[32];
	snprintf(val, sizeof(val), "v%d", k);
	int rc = k % 2 ? srv_store_txt_push(c->s, r.subdomain, val, k, 2,
					    child_cb, o)
		       : srv_store_reg_put(c->s, &r, child_cb, o);
	if (rc)
		_exit(4);
}

static void
child_main(const char *path, int fd)
{
	static struct child c;
	uv_loop_t loop;
	char err[256];

	uv_loop_init(&loop);
	if (srv_store_open(&loop, path, &c.s, err, sizeof(err)))
		_exit(2);
	c.fd = fd;
	for (int i = 0; i < DUR_WINDOW; i++)
		child_submit(&c);
	uv_run(&loop, UV_RUN_DEFAULT);
	_exit(0);
}

static void
test_durability_sigkill(void **state)
{
	struct fx *f = *state;
	int p[2];
	uint32_t k;
	size_t nacks = 0, maxk = 0;
	uint8_t *acked = calloc(DUR_MAX, 1);

	assert_int_equal(pipe(p), 0);
	pid_t pid = fork();
	assert_true(pid >= 0);
	if (pid == 0) {
		close(p[0]);
		child_main(f->path, p[1]);
	}
	close(p[1]);
	/* let a few hundred acknowledgements through, then pull the plug
	 * at some point in the middle of the next commits */
	while (nacks < 600 && read(p[0], &k, sizeof(k)) == sizeof(k)) {
		assert_false(k & 0x80000000u);
		acked[k] = 1;
		nacks++;
	}
	kill(pid, SIGKILL);
	int wst;
	assert_int_equal(waitpid(pid, &wst, 0), pid);
	assert_true(WIFSIGNALED(wst));
	/* acknowledgements still in the pipe count as well */
	while (read(p[0], &k, sizeof(k)) == sizeof(k)) {
		assert_false(k & 0x80000000u);
		acked[k] = 1;
		nacks++;
	}
	close(p[0]);
	assert_true(nacks >= 600);

	struct srv_store *s = open_sync(f->path);
	sqlite3 *db = raw_open(f->path);
	char res[64];
	raw_text(db, "PRAGMA integrity_check", res, sizeof(res));
	assert_string_equal(res, "ok");
	sqlite3_stmt *qr = NULL, *qt = NULL;
	assert_int_equal(sqlite3_prepare_v2(db,
					    "SELECT count(*) FROM "
					    "registrations WHERE username = ?",
					    -1, &qr, NULL),
			 SQLITE_OK);
	assert_int_equal(sqlite3_prepare_v2(db,
					    "SELECT count(*) FROM txt WHERE "
					    "subdomain = ? AND value = ?",
					    -1, &qt, NULL),
			 SQLITE_OK);
	size_t missing = 0;
	for (size_t i = 0; i < DUR_MAX; i++) {
		if (!acked[i])
			continue;
		maxk = i;
		struct srv_store_reg r = mkreg((unsigned)i / 2, NULL);
		char val[32];
		sqlite3_stmt *q = i % 2 ? qt : qr;
		snprintf(val, sizeof(val), "v%zu", i);
		if (i % 2) {
			sqlite3_bind_text(q, 1, r.subdomain, -1, SQLITE_STATIC);
			sqlite3_bind_text(q, 2, val, -1, SQLITE_STATIC);
		} else {
			sqlite3_bind_text(q, 1, r.username, -1, SQLITE_STATIC);
		}
		assert_int_equal(sqlite3_step(q), SQLITE_ROW);
		if (sqlite3_column_int(q, 0) != 1)
			missing++;
		sqlite3_reset(q);
	}
	sqlite3_finalize(qr);
	sqlite3_finalize(qt);
	int64_t regs = raw_int(db, "SELECT count(*) FROM registrations");
	print_message("%zu acknowledged writes (last %zu), %lld "
		      "registrations on disk after SIGKILL\n",
		      nacks, maxk, (long long)regs);
	assert_int_equal(missing, 0);
	/* everything acknowledged, and at most the in-flight window more */
	assert_true((size_t)regs >= (maxk + 2) / 2);
	assert_true((size_t)regs <= (maxk + DUR_WINDOW + 2) / 2 + 1);
	sqlite3_close(db);
	srv_store_close(s);
	free(acked);
}

/* ---- import from acme-dns ------------------------------------------------ */

static void
bcrypt(const char *pw, char *out, size_t len)
{
	char setting[64];
	struct crypt_data *cd = calloc(1, sizeof(*cd));
	assert_non_null(
	    crypt_gensalt_rn("$2a$", 10, NULL, 0, setting, sizeof(setting)));
	assert_int_equal(strncmp(setting, "$2a$10$", 7), 0);
	assert_int_equal(strlen(setting), 7 + 22);
	const char *h = crypt_r(pw, setting, cd);
	assert_non_null(h);
	assert_int_equal(strlen(h), 60);
	snprintf(out, len, "%s", h);
	free(cd);
}

static void
acme_row(sqlite3 *db, const char *user, const char *pw, bool blob,
	 const char *sub, const char *allow)
{
	sqlite3_stmt *st = NULL;
	assert_int_equal(sqlite3_prepare_v2(db,
					    "INSERT INTO records VALUES "
					    "(?, ?, ?, ?)",
					    -1, &st, NULL),
			 SQLITE_OK);
	sqlite3_bind_text(st, 1, user, -1, SQLITE_STATIC);
	if (blob)
		sqlite3_bind_blob(st, 2, pw, (int)strlen(pw), SQLITE_STATIC);
	else
		sqlite3_bind_text(st, 2, pw, -1, SQLITE_STATIC);
	sqlite3_bind_text(st, 3, sub, -1, SQLITE_STATIC);
	if (allow)
		sqlite3_bind_text(st, 4, allow, -1, SQLITE_STATIC);
	assert_int_equal(sqlite3_step(st), SQLITE_DONE);
	sqlite3_finalize(st);
	/* acme-dns creates two empty TXT rows per registration */
	char sql[256];
	snprintf(sql, sizeof(sql),
		 "INSERT INTO txt VALUES ('%s', '', 0), ('%s', '', 0)", sub,
		 sub);
	raw_exec(db, sql);
}

static void
acme_txt(sqlite3 *db, const char *sub, const char *val, int64_t t)
{
	char sql[256];
	snprintf(sql, sizeof(sql), "INSERT INTO txt VALUES ('%s', '%s', %lld)",
		 sub, val, (long long)t);
	raw_exec(db, sql);
}

static const struct coll_reg *
find_reg(const struct coll *c, const char *user)
{
	for (size_t i = 0; i < c->nreg; i++)
		if (strcmp(c->reg[i].r.username, user) == 0)
			return &c->reg[i];
	return NULL;
}

static void
test_import_acmedns(void **state)
{
	struct fx *f = *state;
	char src[192], h1[64], h2[64], h3[64], err[256];
	char u[8][SRV_UUID_LEN + 1], d[8][SRV_UUID_LEN + 1];

	for (unsigned i = 0; i < 8; i++) {
		uuid_of(u[i], i + 1, 0x1111);
		uuid_of(d[i], i + 1, 0x2222);
	}
	snprintf(src, sizeof(src), "%s/acme-dns.db", f->dir);
	sqlite3 *db = raw_open(src);
	raw_exec(db, "CREATE TABLE IF NOT EXISTS records(Username TEXT "
		     "UNIQUE NOT NULL PRIMARY KEY, Password TEXT UNIQUE NOT "
		     "NULL, Subdomain TEXT UNIQUE NOT NULL, AllowFrom TEXT);"
		     "CREATE TABLE IF NOT EXISTS txt(Subdomain TEXT NOT "
		     "NULL, Value TEXT NOT NULL DEFAULT '', LastUpdate INT);");
	bcrypt("password-one", h1, sizeof(h1));
	bcrypt("password-two", h2, sizeof(h2));
	bcrypt("password-three", h3, sizeof(h3));
	acme_row(db, u[0], h1, true, d[0], "[]");
	acme_row(db, u[1], h2, false, d[1],
		 "[\"10.0.0.0/8\",\"192.168.1.0/24\"]");
	acme_row(db, u[2], h3, true, d[2], NULL);
	/* invalid rows */
	acme_row(db, "not-a-uuid", "$2a$10$xxxxxxxxxxxxxxxxxxxxxxxxxxxx", true,
		 d[3], NULL);
	acme_row(db, u[4], "plaintext-password", true, d[4], NULL);
	acme_row(db, u[5], "$2a$10$yyyyyyyyyyyyyyyyyyyyyyyyyyyy", true,
		 "_acme-challenge", NULL);
	acme_row(db, u[6], "$2a$10$zzzzzzzzzzzzzzzzzzzzzzzzzzzz", true, d[6],
		 "10.0.0.0/8");
	acme_txt(db, d[0], "a1", 1000);
	acme_txt(db, d[0], "a2", 1001);
	for (int i = 0; i < 70; i++) {
		char v[16];
		snprintf(v, sizeof(v), "b%02d", i);
		acme_txt(db, d[1], v, 2000 + i);
	}
	acme_txt(db, d[7], "orphan", 3000);
	acme_txt(db, d[3], "of-invalid", 3000);
	sqlite3_close(db);

	struct srv_store *s = open_sync(f->path);
	struct srv_import_stats st;
	if (srv_store_import_acmedns(s, src, &st, err, sizeof(err)))
		fail_msg("import: %s", err);
	assert_int_equal(st.regs, 3);
	assert_int_equal(st.skipped, 4);
	assert_int_equal(st.txts, 2 + 64);

	struct coll *c = load_all(s);
	assert_int_equal(c->nreg, 3);
	const struct coll_reg *r = find_reg(c, u[0]);
	assert_non_null(r);
	assert_string_equal(r->r.subdomain, d[0]);
	assert_memory_equal(r->r.hash, h1, 61);
	assert_string_equal(r->allow, "[]");
	assert_true(r->r.created > 1600000000);
	r = find_reg(c, u[1]);
	assert_non_null(r);
	assert_memory_equal(r->r.hash, h2, 61);
	assert_string_equal(r->allow, "[\"10.0.0.0/8\",\"192.168.1.0/24\"]");
	r = find_reg(c, u[2]);
	assert_non_null(r);
	assert_memory_equal(r->r.hash, h3, 61);
	assert_string_equal(r->allow, "[]");
	assert_int_equal(c->ntxt, 66);
	assert_string_equal(c->txt[0].sub, d[0]); /* d[0] < d[1] */
	assert_string_equal(c->txt[0].val, "a1");
	assert_int_equal(c->txt[0].upd, 1000000);
	/* the newest 64 of d[1]: b06..b69, oldest first */
	assert_string_equal(c->txt[2].val, "b06");
	assert_int_equal(c->txt[2].upd, 2006000);
	assert_string_equal(c->txt[65].val, "b69");
	free(c);

	/* the imported hashes work for the API (TXT pushes too) */
	assert_int_equal(push(s, d[2], "new", 5000000, 2), 0);

	/* a second import changes nothing */
	if (srv_store_import_acmedns(s, src, &st, err, sizeof(err)))
		fail_msg("import: %s", err);
	assert_int_equal(st.regs, 0);
	assert_int_equal(st.txts, 0);
	assert_int_equal(st.skipped, 7);
	c = load_all(s);
	assert_int_equal(c->nreg, 3);
	assert_int_equal(c->ntxt, 67);
	free(c);
	srv_store_close(s);
}

static void
test_import_errors(void **state)
{
	struct fx *f = *state;
	struct srv_store *s = open_sync(f->path);
	struct srv_import_stats st;
	char path[192], err[256], want[320];

	/* an SQLite file of something else */
	snprintf(path, sizeof(path), "%s/other.db", f->dir);
	sqlite3 *db = raw_open(path);
	raw_exec(db, "CREATE TABLE foo(x)");
	sqlite3_close(db);
	assert_int_not_equal(
	    srv_store_import_acmedns(s, path, &st, err, sizeof(err)), 0);
	snprintf(want, sizeof(want),
		 "%s: not an acme-dns database (no records table)", path);
	assert_string_equal(err, want);

	/* records without a txt table */
	db = raw_open(path);
	raw_exec(db, "CREATE TABLE records(Username, Password, Subdomain, "
		     "AllowFrom)");
	sqlite3_close(db);
	assert_int_not_equal(
	    srv_store_import_acmedns(s, path, &st, err, sizeof(err)), 0);
	snprintf(want, sizeof(want),
		 "%s: not an acme-dns database (no txt table)", path);
	assert_string_equal(err, want);

	/* not SQLite at all */
	snprintf(path, sizeof(path), "%s/text.db", f->dir);
	FILE *fp = fopen(path, "w");
	for (int i = 0; i < 200; i++)
		fputs("plain text, not a database\n", fp);
	fclose(fp);
	assert_int_not_equal(
	    srv_store_import_acmedns(s, path, &st, err, sizeof(err)), 0);
	assert_non_null(strstr(err, "not a database"));

	/* missing */
	snprintf(path, sizeof(path), "%s/missing.db", f->dir);
	assert_int_equal(
	    srv_store_import_acmedns(s, path, &st, err, sizeof(err)), -ENOENT);
	assert_non_null(strstr(err, "No such file"));
	assert_int_equal(st.regs, 0);

	struct coll *c = load_all(s);
	assert_int_equal(c->nreg, 0);
	free(c);
	srv_store_close(s);
}

/* ---- load timing (printed, not asserted) --------------------------------- */

#define BIG_REGS 100000

static int
fn_bulk(struct sqlite3 *db, void *arg)
{
	unsigned n = *(unsigned *)arg;
	sqlite3_stmt *ir = NULL, *it = NULL;
	int rc = AD_EIO;

	if (sqlite3_prepare_v2(db,
			       "INSERT INTO registrations(username, subdomain,"
			       " hash, allowfrom, created) VALUES (?,?,?,?,?)",
			       -1, &ir, NULL) != SQLITE_OK ||
	    sqlite3_prepare_v2(db, "INSERT INTO txt VALUES (?,?,?)", -1, &it,
			       NULL) != SQLITE_OK)
		goto out;
	for (unsigned i = 0; i < n; i++) {
		struct srv_store_reg r = mkreg(i, NULL);
		char v[64];
		snprintf(r.hash, sizeof(r.hash), "$s256$%022u$%043u", i, i);
		sqlite3_bind_text(ir, 1, r.username, -1, SQLITE_STATIC);
		sqlite3_bind_text(ir, 2, r.subdomain, -1, SQLITE_STATIC);
		sqlite3_bind_text(ir, 3, r.hash, -1, SQLITE_STATIC);
		sqlite3_bind_text(ir, 4, "[]", -1, SQLITE_STATIC);
		sqlite3_bind_int64(ir, 5, 1700000000);
		if (sqlite3_step(ir) != SQLITE_DONE)
			goto out;
		sqlite3_reset(ir);
		for (int j = 0; j < 2; j++) {
			snprintf(v, sizeof(v), "%042u%d", i, j);
			sqlite3_bind_text(it, 1, r.subdomain, -1,
					  SQLITE_STATIC);
			sqlite3_bind_text(it, 2, v, -1, SQLITE_STATIC);
			sqlite3_bind_int64(it, 3, 1700000000000 + j);
			if (sqlite3_step(it) != SQLITE_DONE)
				goto out;
			sqlite3_reset(it);
		}
	}
	rc = 0;
out:
	sqlite3_finalize(ir);
	sqlite3_finalize(it);
	return rc;
}

struct counts {
	size_t regs, txts, bytes;
};

static int
count_reg(void *arg, const struct srv_store_reg *r)
{
	struct counts *c = arg;
	c->regs++;
	c->bytes += strlen(r->allowfrom);
	return 0;
}

static int
count_txt(void *arg, const char *sub, const char *val, int64_t upd)
{
	struct counts *c = arg;
	(void)sub;
	(void)upd;
	c->txts++;
	c->bytes += strlen(val);
	return 0;
}

static void
test_load_timing(void **state)
{
	struct fx *f = *state;
	struct srv_store *s = open_sync(f->path);
	unsigned n = BIG_REGS;
	int st = PENDING;

	assert_int_equal(srv_store_submit(s, fn_bulk, &n, cb_status, &st), 0);
	assert_int_equal(st, 0);
	srv_store_close(s);

	struct timespec t0, t1;
	clock_gettime(CLOCK_MONOTONIC, &t0);
	s = open_sync(f->path);
	struct timespec tm;
	clock_gettime(CLOCK_MONOTONIC, &tm);
	static const struct srv_store_visitor v = {count_reg, count_txt};
	struct counts c = {0};
	assert_int_equal(srv_store_load(s, &v, &c), 0);
	clock_gettime(CLOCK_MONOTONIC, &t1);
	assert_int_equal(c.regs, BIG_REGS);
	assert_int_equal(c.txts, 2 * BIG_REGS);
	print_message("open %.1f ms, load of %zu registrations + %zu TXT "
		      "values %.1f ms (this build)\n",
		      (double)(tm.tv_sec - t0.tv_sec) * 1e3 +
			  (double)(tm.tv_nsec - t0.tv_nsec) / 1e6,
		      c.regs, c.txts,
		      (double)(t1.tv_sec - tm.tv_sec) * 1e3 +
			  (double)(t1.tv_nsec - tm.tv_nsec) / 1e6);
	srv_store_close(s);
}

/* ---- ACME state (migration 2) -------------------------------------------- */

struct acoll {
	char account[256];
	int naccount;
	size_t ndom;
	char id[16][64], owner[16][64], json[16][256];
	size_t nreq;
	struct srv_store_request req[16];
	char arg[16][64];
	int done;
	pthread_t thread;
	int wrong_thread;
};

static int
acoll_account(void *arg, const char *json)
{
	struct acoll *c = arg;
	c->naccount++;
	snprintf(c->account, sizeof(c->account), "%s", json);
	return 0;
}

static int
acoll_domain(void *arg, const char *id, const char *owner, const char *json)
{
	struct acoll *c = arg;
	assert_true(c->ndom < 16);
	snprintf(c->id[c->ndom], 64, "%s", id);
	snprintf(c->owner[c->ndom], 64, "%s", owner);
	snprintf(c->json[c->ndom], 256, "%s", json);
	c->ndom++;
	return 0;
}

static void
acoll_load(struct srv_store *s, struct acoll *c)
{
	static const struct srv_store_acme_visitor v = {acoll_account,
							acoll_domain};
	memset(c, 0, sizeof(*c));
	assert_int_equal(srv_store_acme_load(s, &v, c), 0);
}

static void
acoll_req(void *arg, const struct srv_store_request *r)
{
	struct acoll *c = arg;
	assert_true(c->nreq < 16);
	if (!pthread_equal(pthread_self(), c->thread))
		c->wrong_thread++;
	c->req[c->nreq] = *r;
	snprintf(c->arg[c->nreq], 64, "%s", r->arg ? r->arg : "(null)");
	c->req[c->nreq].arg = NULL; /* borrowed: only the copy is kept */
	c->nreq++;
}

static void
acoll_done(void *arg, int status)
{
	struct acoll *c = arg;
	if (!pthread_equal(pthread_self(), c->thread))
		c->wrong_thread++;
	c->done = status == 0 ? 1 : status;
}

static int
aput(struct srv_store *s, const char *id, const char *owner, const char *json)
{
	int st = PENDING;
	int rc = srv_store_domain_put(s, id, owner, json, cb_status, &st);
	return rc ? rc : st;
}

static void
test_acme_sync(void **state)
{
	struct fx *f = *state;
	struct srv_store *s = open_sync(f->path);
	struct acoll *c = calloc(1, sizeof(*c));
	int st = PENDING;

	/* nothing yet: the visitor is not called */
	acoll_load(s, c);
	assert_int_equal(c->naccount, 0);
	assert_int_equal(c->ndom, 0);

	/* one account row, replaced in place */
	assert_int_equal(srv_store_account_put(s, "{\"a\":1}", cb_status, &st),
			 0);
	assert_int_equal(st, 0);
	st = PENDING;
	assert_int_equal(srv_store_account_put(s, "{\"a\":2}", cb_status, &st),
			 0);
	assert_int_equal(st, 0);
	assert_int_equal(srv_store_account_put(s, "", cb_status, &st),
			 AD_EINVAL);

	/* domains: insert, update, the daemon's own (owner ""), bad args */
	assert_int_equal(aput(s, "d1", "owner-a", "{\"v\":1}"), 0);
	assert_int_equal(aput(s, "d2", "owner-b", "{\"v\":2}"), 0);
	assert_int_equal(aput(s, "d3", "", "{\"v\":3}"), 0);
	assert_int_equal(aput(s, "d1", "owner-a", "{\"v\":11}"), 0);
	assert_int_equal(aput(s, "", "o", "{}"), AD_EINVAL);
	assert_int_equal(aput(s, "a b", "o", "{}"), AD_EINVAL);
	assert_int_equal(aput(s, "d4", "o", ""), AD_EINVAL);
	char longid[80];
	memset(longid, 'x', sizeof(longid) - 1);
	longid[sizeof(longid) - 1] = '\0';
	assert_int_equal(aput(s, longid, "o", "{}"), AD_EINVAL);

	acoll_load(s, c);
	assert_int_equal(c->naccount, 1);
	assert_string_equal(c->account, "{\"a\":2}");
	assert_int_equal(c->ndom, 3);
	/* insertion order; the update kept d1's place */
	assert_string_equal(c->id[0], "d1");
	assert_string_equal(c->json[0], "{\"v\":11}");
	assert_string_equal(c->owner[0], "owner-a");
	assert_string_equal(c->id[1], "d2");
	assert_string_equal(c->id[2], "d3");
	assert_string_equal(c->owner[2], "");

	st = PENDING;
	assert_int_equal(srv_store_domain_delete(s, "d2", cb_status, &st), 0);
	assert_int_equal(st, 0);
	st = PENDING;
	assert_int_equal(srv_store_domain_delete(s, "d2", cb_status, &st), 0);
	assert_int_equal(st, AD_ENOENT);
	acoll_load(s, c);
	assert_int_equal(c->ndom, 2);

	/* requests: queued in order, taken once, arg NULL preserved */
	st = PENDING;
	assert_int_equal(
	    srv_store_request_put(s, "renew", "d1", NULL, cb_status, &st), 0);
	assert_int_equal(st, 0);
	assert_int_equal(
	    srv_store_request_put(s, "revoke", "d1", "4", cb_status, &st), 0);
	assert_int_equal(
	    srv_store_request_put(s, "delete", "d3", NULL, cb_status, &st), 0);
	assert_int_equal(srv_store_request_put(s, "much-too-long-op", "d1",
					       NULL, cb_status, &st),
			 AD_EINVAL);
	assert_int_equal(
	    srv_store_request_put(s, "renew", "", NULL, cb_status, &st),
	    AD_EINVAL);
	memset(c, 0, sizeof(*c));
	c->thread = pthread_self();
	assert_int_equal(srv_store_requests_take(s, acoll_req, acoll_done, c),
			 0);
	assert_int_equal(c->done, 1);
	assert_int_equal(c->nreq, 3);
	assert_string_equal(c->req[0].op, "renew");
	assert_string_equal(c->req[0].domain_id, "d1");
	assert_string_equal(c->arg[0], "(null)");
	assert_string_equal(c->req[1].op, "revoke");
	assert_string_equal(c->arg[1], "4");
	assert_string_equal(c->req[2].op, "delete");
	assert_string_equal(c->req[2].domain_id, "d3");
	assert_true(c->req[0].seq < c->req[1].seq);
	assert_true(c->req[1].seq < c->req[2].seq);
	assert_true(c->req[0].created > 1700000000);
	/* taken means gone */
	memset(c, 0, sizeof(*c));
	c->thread = pthread_self();
	assert_int_equal(srv_store_requests_take(s, acoll_req, acoll_done, c),
			 0);
	assert_int_equal(c->done, 1);
	assert_int_equal(c->nreq, 0);
	/* a seq is never reused after a take (AUTOINCREMENT) */
	assert_int_equal(
	    srv_store_request_put(s, "renew", "d1", NULL, NULL, NULL), 0);
	assert_int_equal(srv_store_requests_take(s, acoll_req, acoll_done, c),
			 0);
	assert_int_equal(c->nreq, 1);
	assert_int_equal(c->req[0].seq, 4);
	assert_int_equal(c->wrong_thread, 0);

	srv_store_close(s);
	free(c);
}

/* loop mode: completions on the loop thread, a take inside a batch whose
 * COMMIT fails delivers nothing and leaves the requests queued */
static void
test_acme_loop(void **state)
{
	struct fx *f = *state;
	uv_loop_t loop;
	struct lctx lc = {0};
	struct ack acks[16];
	struct gate g;
	struct acoll *c = calloc(1, sizeof(*c));
	int k = 0;

	sem_init(&g.started, 0, 0);
	sem_init(&g.release, 0, 0);
	uv_loop_init(&loop);
	lc.s = open_loop(&loop, f->path);
#define ACK(e) (acks[k] = (struct ack){&lc, k, (e)}, &acks[k++])
	assert_int_equal(
	    srv_store_account_put(lc.s, "{\"key\":1}", lcb, ACK(0)), 0);
	assert_int_equal(
	    srv_store_domain_put(lc.s, "d1", "o1", "{}", lcb, ACK(0)), 0);
	assert_int_equal(
	    srv_store_domain_delete(lc.s, "nope", lcb, ACK(AD_ENOENT)), 0);
	assert_int_equal(
	    srv_store_request_put(lc.s, "add", "d9", "{\"x\":1}", lcb, ACK(0)),
	    0);
	assert_int_equal(
	    srv_store_request_put(lc.s, "renew", "d1", NULL, lcb, ACK(0)), 0);
	run_until(&loop, &lc, k);

	/* a failing commit: the take's deletion is undone, nothing handed
	 * over, done gets AD_EIO */
	assert_int_equal(srv_store_submit(lc.s, gate_fn, &g, lcb, ACK(0)), 0);
	sem_wait(&g.started);
	c->thread = pthread_self();
	assert_int_equal(
	    srv_store_requests_take(lc.s, acoll_req, acoll_done, c), 0);
	assert_int_equal(
	    srv_store_submit(lc.s, fn_break_commit, NULL, lcb, ACK(AD_EIO)), 0);
	sem_post(&g.release);
	run_until(&loop, &lc, k);
	while (c->done == 0)
		uv_run(&loop, UV_RUN_ONCE);
	assert_int_equal(c->done, AD_EIO);
	assert_int_equal(c->nreq, 0);

	/* now for real */
	memset(c, 0, sizeof(*c));
	c->thread = pthread_self();
	assert_int_equal(
	    srv_store_requests_take(lc.s, acoll_req, acoll_done, c), 0);
	while (c->done == 0)
		uv_run(&loop, UV_RUN_ONCE);
	assert_int_equal(c->done, 1);
	assert_int_equal(c->nreq, 2);
	assert_string_equal(c->req[0].op, "add");
	assert_string_equal(c->req[0].domain_id, "d9");
	assert_string_equal(c->arg[0], "{\"x\":1}");
	assert_string_equal(c->req[1].op, "renew");
	assert_int_equal(c->wrong_thread, 0);
#undef ACK
	assert_int_equal(lc.bad_order, 0);
	assert_int_equal(lc.bad_status, 0);
	close_loop(&loop, lc.s);

	struct srv_store *s = open_sync(f->path);
	acoll_load(s, c);
	assert_string_equal(c->account, "{\"key\":1}");
	assert_int_equal(c->ndom, 1);
	sqlite3 *db = raw_open(f->path);
	assert_int_equal(raw_int(db, "SELECT count(*) FROM acme_requests"), 0);
	sqlite3_close(db);
	srv_store_close(s);
	sem_destroy(&g.started);
	sem_destroy(&g.release);
	free(c);
}

/* a version 1 database (acmedns before the ACME engine) migrates to 2
 * and keeps its registrations */
static void
test_acme_migrate_v1(void **state)
{
	struct fx *f = *state;
	struct srv_store *s = open_sync(f->path);
	struct srv_store_reg r = mkreg(1, NULL);
	assert_int_equal(put(s, &r), 0);
	srv_store_close(s);

	sqlite3 *db = raw_open(f->path);
	raw_exec(db, "DROP TABLE acme_account; DROP TABLE acme_domains;"
		     "DROP TABLE acme_requests;"
		     "UPDATE schema_version SET version = 1");
	sqlite3_close(db);

	s = open_sync(f->path);
	struct coll *co = load_all(s);
	assert_int_equal(co->nreg, 1);
	free(co);
	assert_int_equal(aput(s, "d1", "o", "{}"), 0);
	srv_store_close(s);
	db = raw_open(f->path);
	assert_int_equal(raw_int(db, "SELECT version FROM schema_version"), 2);
	assert_int_equal(raw_int(db, "SELECT count(*) FROM acme_domains"), 1);
	/* the account table holds one row at most */
	raw_exec(db, "INSERT INTO acme_account VALUES (1, '{}')");
	assert_int_not_equal(sqlite3_exec(db,
					  "INSERT INTO acme_account "
					  "VALUES (2, '{}')",
					  NULL, NULL, NULL),
			     SQLITE_OK);
	sqlite3_close(db);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test_setup_teardown(test_open_creates, setup, teardown),
	    cmocka_unit_test_setup_teardown(test_open_tightens_mode, setup,
					    teardown),
	    cmocka_unit_test_setup_teardown(test_open_newer_schema, setup,
					    teardown),
	    cmocka_unit_test_setup_teardown(test_open_errors, setup, teardown),
	    cmocka_unit_test_setup_teardown(test_sync_ops, setup, teardown),
	    cmocka_unit_test_setup_teardown(test_sync_txt_rotation, setup,
					    teardown),
	    cmocka_unit_test_setup_teardown(test_sync_load, setup, teardown),
	    cmocka_unit_test_setup_teardown(test_sync_submit, setup, teardown),
	    cmocka_unit_test_setup_teardown(test_loop_group_commit, setup,
					    teardown),
	    cmocka_unit_test_setup_teardown(test_loop_batch_isolation, setup,
					    teardown),
	    cmocka_unit_test_setup_teardown(test_loop_close_drains, setup,
					    teardown),
	    cmocka_unit_test_setup_teardown(test_durability_sigkill, setup,
					    teardown),
	    cmocka_unit_test_setup_teardown(test_import_acmedns, setup,
					    teardown),
	    cmocka_unit_test_setup_teardown(test_import_errors, setup,
					    teardown),
	    cmocka_unit_test_setup_teardown(test_load_timing, setup, teardown),
	    cmocka_unit_test_setup_teardown(test_acme_sync, setup, teardown),
	    cmocka_unit_test_setup_teardown(test_acme_loop, setup, teardown),
	    cmocka_unit_test_setup_teardown(test_acme_migrate_v1, setup,
					    teardown),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
