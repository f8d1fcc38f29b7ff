/* SPDX-License-Identifier: MIT */
/*
 * Performance sanity for srv_store_load() (not a test: nothing is timed in
 * CI). Fills a fresh store in a temporary directory with N registrations
 * (default 100,000) and two TXT values each in one transaction, reopens
 * it, and prints the time to open and to visit everything, best of a few
 * passes. The directory is removed afterwards.
 *
 *   bench_store_load [REGISTRATIONS [PASSES]]
 */
#include "common/errors.h"
#include "server/store.h"

#include <ftw.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <sqlite3.h>

static double
now_ms(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec * 1e3 + (double)ts.tv_nsec / 1e6;
}

/* runs on the store's write connection inside its transaction */
static int
fill(struct sqlite3 *db, void *arg)
{
	unsigned n = *(unsigned *)arg;
	sqlite3_stmt *ir = NULL, *it = NULL;
	char user[40], sub[40], hash[128], val[64];
	int rc = AD_EIO;

	if (sqlite3_prepare_v2(db,
			       "INSERT INTO registrations(username, subdomain,"
			       " hash, allowfrom, created) VALUES (?,?,?,?,?)",
			       -1, &ir, NULL) != SQLITE_OK ||
	    sqlite3_prepare_v2(db, "INSERT INTO txt VALUES (?,?,?)", -1, &it,
			       NULL) != SQLITE_OK)
		goto out;
	for (unsigned i = 0; i < n; i++) {
		snprintf(user, sizeof(user), "%08x-aaaa-4000-8000-%012x", i,
			 i * 7u);
		snprintf(sub, sizeof(sub), "%08x-5555-4000-8000-%012x", i,
			 i * 7u);
		snprintf(hash, sizeof(hash), "$s256$%022u$%043u", i, i);
		sqlite3_bind_text(ir, 1, user, -1, SQLITE_STATIC);
		sqlite3_bind_text(ir, 2, sub, -1, SQLITE_STATIC);
		sqlite3_bind_text(ir, 3, hash, -1, SQLITE_STATIC);
		sqlite3_bind_text(ir, 4, "[]", -1, SQLITE_STATIC);
		sqlite3_bind_int64(ir, 5, 1700000000);
		if (sqlite3_step(ir) != SQLITE_DONE)
			goto out;
		sqlite3_reset(ir);
		for (int j = 0; j < 2; j++) {
			snprintf(val, sizeof(val), "%042u%d", i, j);
			sqlite3_bind_text(it, 1, sub, -1, SQLITE_STATIC);
			sqlite3_bind_text(it, 2, val, -1, SQLITE_STATIC);
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

static void
done(void *arg, int status)
{
	*(int *)arg = status;
}

struct counts {
	size_t regs, txts, bytes;
};

static int
on_reg(void *arg, const struct srv_store_reg *r)
{
	struct counts *c = arg;
	c->regs++;
	c->bytes += strlen(r->hash) + strlen(r->allowfrom);
	return 0;
}

static int
on_txt(void *arg, const char *sub, const char *val, int64_t upd)
{
	struct counts *c = arg;
	(void)sub;
	(void)upd;
	c->txts++;
	c->bytes += strlen(val);
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

int
main(int argc, char **argv)
{
	unsigned n = argc > 1 ? (unsigned)strtoul(argv[1], NULL, 10) : 100000;
	int passes = argc > 2 ? atoi(argv[2]) : 5;
	char dir[] = "/tmp/adbench.XXXXXX", path[64], err[256];
	struct srv_store *s;
	int st = -1;

	if (!mkdtemp(dir))
		return 1;
	snprintf(path, sizeof(path), "%s/acmedns.db", dir);
	if (srv_store_open(NULL, path, &s, err, sizeof(err))) {
		fprintf(stderr, "%s\n", err);
		return 1;
	}
	double t0 = now_ms();
	srv_store_submit(s, fill, &n, done, &st);
	printf("fill: %u registrations, %u TXT values: %.0f ms (status %d)\n",
	       n, 2 * n, now_ms() - t0, st);
	srv_store_close(s);

	double best_open = 1e9, best_load = 1e9;
	for (int p = 0; p < passes; p++) {
		static const struct srv_store_visitor v = {on_reg, on_txt};
		struct counts c = {0};
		double a = now_ms();
		if (srv_store_open(NULL, path, &s, err, sizeof(err))) {
			fprintf(stderr, "%s\n", err);
			return 1;
		}
		double b = now_ms();
		if (srv_store_load(s, &v, &c) != 0 || c.regs != n ||
		    c.txts != 2 * (size_t)n) {
			fprintf(stderr, "load failed\n");
			return 1;
		}
		double e = now_ms();
		srv_store_close(s);
		if (b - a < best_open)
			best_open = b - a;
		if (e - b < best_load)
			best_load = e - b;
	}
	printf("open: %.1f ms, load: %.1f ms (best of %d)\n", best_open,
	       best_load, passes);
	nftw(dir, rm_one, 16, FTW_DEPTH | FTW_PHYS);
	return 0;
}
