/* SPDX-License-Identifier: MIT */
/*
 * Tests of server/certfiles.c on a real file system (a temp dir) with
 * certificates made by the openssl CLI at setup (a CA and 20 leaf
 * certificates, each with its own key): the archive/live layout, modes,
 * the key-less (CSR) case, pruning, refusals that publish nothing, removal
 * that does not follow links, and a forked reader that keeps reading a
 * fullchain.pem + key.pem pair while new versions are published and
 * checks with OpenSSL that the key always matches the certificate.
 * Deploy hooks run real /bin/sh children: environment, output logging
 * (stderr captured to a file), exit status, timeout with SIGTERM and with
 * SIGKILL, missing command.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h>

#include <dirent.h>
#include <limits.h>
#include <openssl/evp.h>
#include <openssl/pem.h>
#include <openssl/x509.h>

#include "common/errors.h"
#include "server/certfiles.h"
#include "testproc.h"

#define NCERTS 20

static char g_dir[256];
static char *g_full[NCERTS], *g_key[NCERTS], *g_ca;
static int64_t g_t0 = 1764590400; /* 2025-12-01T12:00:00Z */

/* ---- fixtures ---------------------------------------------------------- */

static int
group_setup(void **state)
{
	char p[400], *leaf;
	int i;

	(void)state;
	snprintf(g_dir, sizeof(g_dir), "/tmp/acmeio-certs-XXXXXX");
	TP_CHECK(mkdtemp(g_dir) != NULL);
	snprintf(p, sizeof(p), "%s/ext.cnf", g_dir);
	tp_write(p, "subjectAltName=DNS:www.example.test\n"
		    "basicConstraints=CA:FALSE\n");
	TP_CHECK(
	    tp_sh("cd %s && openssl req -x509 -newkey ec -pkeyopt "
		  "ec_paramgen_curve:P-256 -nodes -keyout ca.key -out "
		  "ca.pem -days 2 -subj /CN=acmeio-files-ca 2>/dev/null "
		  "&& for i in $(seq 0 %d); do openssl req -newkey ec "
		  "-pkeyopt ec_paramgen_curve:P-256 -nodes -keyout k$i.pem "
		  "-out c$i.csr -subj /CN=www.example.test 2>/dev/null && "
		  "openssl x509 -req -in c$i.csr -CA ca.pem -CAkey ca.key "
		  "-set_serial $((4096 + i)) -days 2 -extfile ext.cnf "
		  "-out c$i.pem 2>/dev/null || exit 1; done",
		  g_dir, NCERTS - 1) == 0);
	snprintf(p, sizeof(p), "%s/ca.pem", g_dir);
	g_ca = tp_read(p);
	TP_CHECK(g_ca != NULL);
	for (i = 0; i < NCERTS; i++) {
		snprintf(p, sizeof(p), "%s/c%d.pem", g_dir, i);
		leaf = tp_read(p);
		TP_CHECK(leaf != NULL);
		g_full[i] = malloc(strlen(leaf) + strlen(g_ca) + 1);
		strcpy(g_full[i], leaf);
		strcat(g_full[i], g_ca);
		free(leaf);
		snprintf(p, sizeof(p), "%s/k%d.pem", g_dir, i);
		g_key[i] = tp_read(p);
		TP_CHECK(g_key[i] != NULL);
	}
	return 0;
}

static int
group_teardown(void **state)
{
	int i;

	(void)state;
	for (i = 0; i < NCERTS; i++) {
		free(g_full[i]);
		free(g_key[i]);
	}
	free(g_ca);
	if (tp_sh("rm -rf %s", g_dir) != 0)
		fprintf(stderr, "cannot remove %s\n", g_dir);
	return 0;
}

/* A fresh [certs] dir (not created yet: write makes it). */
static const char *
certs_dir(const char *name)
{
	static char buf[400];

	snprintf(buf, sizeof(buf), "%s/%s/certs", g_dir, name);
	return buf;
}

static char *
path2(const char *a, const char *b)
{
	static char buf[4][600];
	static int i;
	char *p = buf[i++ % 4];
	size_t la = strlen(a), lb = strlen(b);

	TP_CHECK(la + lb + 2 <= sizeof(buf[0]));
	memcpy(p, a, la);
	p[la] = '/';
	memcpy(p + la + 1, b, lb + 1);
	return p;
}

static mode_t
mode_of(const char *p)
{
	struct stat st;

	TP_CHECK(stat(p, &st) == 0);
	return st.st_mode & 07777;
}

static int
exists(const char *p)
{
	struct stat st;

	return lstat(p, &st) == 0;
}

/* Version directories in <d>/archive, sorted; returns the count. */
static int
versions(const char *d, char names[][128], int cap)
{
	struct dirent *de;
	DIR *dir = opendir(path2(d, "archive"));
	int n = 0, i, j;
	char tmp[128];

	TP_CHECK(dir != NULL);
	while ((de = readdir(dir)) != NULL) {
		if (de->d_name[0] == '.')
			continue;
		TP_CHECK(n < cap);
		TP_CHECK(strlen(de->d_name) < 128);
		memcpy(names[n++], de->d_name, strlen(de->d_name) + 1);
	}
	closedir(dir);
	for (i = 0; i < n; i++)
		for (j = i + 1; j < n; j++)
			if (strcmp(names[i], names[j]) > 0) {
				memcpy(tmp, names[i], 128);
				memcpy(names[i], names[j], 128);
				memcpy(names[j], tmp, 128);
			}
	return n;
}

static void
live_target(const char *d, char *out, size_t cap)
{
	ssize_t n = readlink(path2(d, "live"), out, cap - 1);

	TP_CHECK(n > 0);
	out[n] = '\0';
}

/* Does key (PEM) belong to the leaf of cert (PEM)? */
static int
key_matches(const char *cert, size_t clen, const char *key, size_t klen)
{
	BIO *cb = BIO_new_mem_buf(cert, (int)clen);
	BIO *kb = BIO_new_mem_buf(key, (int)klen);
	X509 *x = PEM_read_bio_X509(cb, NULL, NULL, NULL);
	EVP_PKEY *k = PEM_read_bio_PrivateKey(kb, NULL, NULL, NULL);
	int ok = x && k && EVP_PKEY_eq(X509_get0_pubkey(x), k) == 1;

	X509_free(x);
	EVP_PKEY_free(k);
	BIO_free(cb);
	BIO_free(kb);
	return ok;
}

static void
write_ok(const char *dir, const char *dn, int i, int64_t now, int with_key)
{
	char err[256] = "";
	char *out = NULL;
	int rc =
	    srv_certfiles_write(dir, dn, g_full[i], with_key ? g_key[i] : NULL,
				now, &out, err, sizeof(err));

	if (rc != 0)
		fprintf(stderr, "write: %s\n", err);
	assert_int_equal(rc, 0);
	assert_string_equal(out, path2(dir, dn));
	free(out);
}

/* ---- files ------------------------------------------------------------- */

static void
test_write_twice(void **state)
{
	const char *dir = certs_dir("twice");
	char d[600], names[16][128], want[160], tgt[300], *s, *c, *ch, *k;
	int n;

	(void)state;
	snprintf(d, sizeof(d), "%s/www.example.test", dir);
	write_ok(dir, "www.example.test", 0, g_t0, 1);
	n = versions(d, names, 16);
	assert_int_equal(n, 1);
	/* "YYYYmmddTHHMMSSZ-<serial hex>": serial 4096 = 0x1000 */
	assert_string_equal(names[0], "20251201T120000Z-1000");
	live_target(d, tgt, sizeof(tgt));
	assert_string_equal(tgt, "archive/20251201T120000Z-1000");

	write_ok(dir, "www.example.test", 1, g_t0 + 3600, 1);
	n = versions(d, names, 16);
	assert_int_equal(n, 2);
	assert_string_equal(names[0], "20251201T120000Z-1000");
	assert_string_equal(names[1], "20251201T130000Z-1001");
	live_target(d, tgt, sizeof(tgt));
	snprintf(want, sizeof(want), "archive/%s", names[1]);
	assert_string_equal(tgt, want);

	/* the stable links follow live */
	s = tp_read(path2(d, "fullchain.pem"));
	c = tp_read(path2(d, "cert.pem"));
	ch = tp_read(path2(d, "chain.pem"));
	k = tp_read(path2(d, "key.pem"));
	assert_non_null(s);
	assert_non_null(c);
	assert_non_null(ch);
	assert_non_null(k);
	assert_string_equal(k, g_key[1]);
	assert_string_equal(ch, g_ca);
	assert_int_equal(strlen(s), strlen(c) + strlen(ch));
	assert_int_equal(strncmp(s, c, strlen(c)), 0);
	assert_string_equal(s + strlen(c), ch);
	assert_true(key_matches(s, strlen(s), k, strlen(k)));
	assert_false(key_matches(s, strlen(s), g_key[0], strlen(g_key[0])));
	free(s);
	free(c);
	free(ch);
	free(k);
	/* the old version is intact */
	k = tp_read(path2(d, "archive/20251201T120000Z-1000/key.pem"));
	assert_non_null(k);
	assert_string_equal(k, g_key[0]);
	free(k);
	/* links are relative, made once */
	live_target(d, tgt, sizeof(tgt));
	n = (int)readlink(path2(d, "cert.pem"), tgt, sizeof(tgt) - 1);
	assert_true(n > 0);
	tgt[n] = '\0';
	assert_string_equal(tgt, "live/cert.pem");

	/* modes: dirs 0700, key 0600, the rest 0644; no temp files left */
	assert_int_equal(mode_of(dir), 0700);
	assert_int_equal(mode_of(d), 0700);
	assert_int_equal(mode_of(path2(d, "archive")), 0700);
	assert_int_equal(mode_of(path2(d, "live")), 0700);
	assert_int_equal(mode_of(path2(d, "key.pem")), 0600);
	assert_int_equal(mode_of(path2(d, "cert.pem")), 0644);
	assert_int_equal(mode_of(path2(d, "chain.pem")), 0644);
	assert_int_equal(mode_of(path2(d, "fullchain.pem")), 0644);
	assert_false(exists(path2(d, "live.tmp")));
	assert_false(exists(path2(d, "live/.key.pem.tmp")));
}

static void
test_same_second_twice(void **state)
{
	const char *dir = certs_dir("same");
	char d[600], names[8][128], tgt[300];

	(void)state;
	snprintf(d, sizeof(d), "%s/x", dir);
	write_ok(dir, "x", 2, g_t0, 1);
	write_ok(dir, "x", 2, g_t0, 1); /* same cert, same second */
	assert_int_equal(versions(d, names, 8), 2);
	assert_string_equal(names[0], "20251201T120000Z-1002");
	assert_string_equal(names[1], "20251201T120000Z-1002-2");
	live_target(d, tgt, sizeof(tgt));
	assert_string_equal(tgt, "archive/20251201T120000Z-1002-2");
}

static void
test_key_absent(void **state)
{
	const char *dir = certs_dir("nokey");
	char d[600], *s;

	(void)state;
	snprintf(d, sizeof(d), "%s/csr.example.test", dir);
	write_ok(dir, "csr.example.test", 3, g_t0, 1);
	assert_true(exists(path2(d, "key.pem")));
	/* the user sent a CSR this time: no key file, no dangling link */
	write_ok(dir, "csr.example.test", 4, g_t0 + 1, 0);
	assert_false(exists(path2(d, "key.pem")));
	assert_false(exists(path2(d, "live/key.pem")));
	s = tp_read(path2(d, "fullchain.pem"));
	assert_non_null(s);
	assert_true(key_matches(s, strlen(s), g_key[4], strlen(g_key[4])));
	free(s);
	/* and a generated key again */
	write_ok(dir, "csr.example.test", 5, g_t0 + 2, 1);
	s = tp_read(path2(d, "key.pem"));
	assert_non_null(s);
	assert_string_equal(s, g_key[5]);
	free(s);
}

static void
test_prune(void **state)
{
	const char *dir = certs_dir("prune");
	char d[600], names[32][128], tgt[300], want[300];
	int i, n;

	(void)state;
	snprintf(d, sizeof(d), "%s/p", dir);
	for (i = 0; i < 12; i++)
		write_ok(dir, "p", i, g_t0 + i * 86400, 1);
	n = versions(d, names, 32);
	assert_int_equal(n, SRV_CERTFILES_KEEP);
	/* the two oldest went: 2025-12-01 and -02 */
	assert_string_equal(names[0], "20251203T120000Z-1002");
	assert_string_equal(names[9], "20251212T120000Z-100b");
	live_target(d, tgt, sizeof(tgt));
	snprintf(want, sizeof(want), "archive/%s", names[9]);
	assert_string_equal(tgt, want);

	/* the live version is never pruned, even when it sorts first (a
	 * clock set back) */
	write_ok(dir, "p", 12, g_t0 - 86400, 1);
	n = versions(d, names, 32);
	assert_int_equal(n, SRV_CERTFILES_KEEP);
	assert_string_equal(names[0], "20251130T120000Z-100c");
	live_target(d, tgt, sizeof(tgt));
	assert_string_equal(tgt, "archive/20251130T120000Z-100c");
}

static void
test_refused(void **state)
{
	const char *dir = certs_dir("refused");
	char err[256], d[600], names[8][128], *bad;
	static const char *const dns[] = {"",  ".hidden", "..",
					  ".", "a/b",     "/abs"};
	size_t i;

	(void)state;
	for (i = 0; i < sizeof(dns) / sizeof(dns[0]); i++) {
		err[0] = '\0';
		assert_int_not_equal(srv_certfiles_write(dir, dns[i], g_full[0],
							 g_key[0], g_t0, NULL,
							 err, sizeof(err)),
				     0);
		assert_true(err[0] != '\0');
	}
	assert_int_not_equal(srv_certfiles_write(dir, NULL, g_full[0], g_key[0],
						 g_t0, NULL, err, sizeof(err)),
			     0);
	assert_false(exists(dir)); /* nothing was created */

	/* a good version first, then refusals that must publish nothing */
	snprintf(d, sizeof(d), "%s/r", dir);
	write_ok(dir, "r", 6, g_t0, 1);
	assert_int_not_equal(srv_certfiles_write(dir, "r", g_full[7], g_key[8],
						 g_t0 + 1, NULL, err,
						 sizeof(err)),
			     0);
	assert_non_null(strstr(err, "does not match"));
	assert_null(strstr(err, "PRIVATE")); /* never the key in errors */
	assert_int_not_equal(srv_certfiles_write(dir, "r", "not a pem", NULL,
						 g_t0 + 2, NULL, err,
						 sizeof(err)),
			     0);
	bad = strdup(g_full[7]);
	bad[100] ^= 1; /* corrupt the base64 of the leaf */
	assert_int_not_equal(srv_certfiles_write(dir, "r", bad, NULL, g_t0 + 3,
						 NULL, err, sizeof(err)),
			     0);
	free(bad);
	assert_int_equal(versions(d, names, 8), 1);
	bad = tp_read(path2(d, "key.pem"));
	assert_non_null(bad);
	assert_string_equal(bad, g_key[6]);
	free(bad);
}

static void
test_dirname(void **state)
{
	char out[256], small[8];

	(void)state;
	srv_certfiles_dirname("*.Example.COM", out, sizeof(out));
	assert_string_equal(out, "_wildcard.example.com");
	srv_certfiles_dirname("www.example.com", out, sizeof(out));
	assert_string_equal(out, "www.example.com");
	srv_certfiles_dirname("a b/c\\d", out, sizeof(out));
	assert_string_equal(out, "a_b_c_d");
	srv_certfiles_dirname(".x", out, sizeof(out));
	assert_string_equal(out, "_x");
	srv_certfiles_dirname("..", out, sizeof(out));
	assert_string_equal(out, "_.");
	srv_certfiles_dirname("", out, sizeof(out));
	assert_string_equal(out, "_");
	srv_certfiles_dirname("under_score-dash", out, sizeof(out));
	assert_string_equal(out, "under_score-dash");
	srv_certfiles_dirname("*.example.com", small, sizeof(small));
	assert_string_equal(small, "_wildca");
}

static void
test_remove(void **state)
{
	const char *dir = certs_dir("remove");
	char d[600], outside[600];

	(void)state;
	snprintf(d, sizeof(d), "%s/gone", dir);
	write_ok(dir, "gone", 9, g_t0, 1);
	write_ok(dir, "gone", 10, g_t0 + 1, 1);
	/* a link to something outside: removed, its target is not */
	snprintf(outside, sizeof(outside), "%s/outside.txt", g_dir);
	tp_write(outside, "keep me\n");
	TP_CHECK(symlink(outside, path2(d, "extra")) == 0);
	TP_CHECK(symlink(g_dir, path2(d, "archive/dirlink")) == 0);
	assert_int_equal(srv_certfiles_remove(dir, "gone"), 0);
	assert_false(exists(d));
	assert_true(exists(outside));
	assert_true(exists(path2(g_dir, "ca.pem")));
	assert_true(exists(dir));
	/* idempotent; bad names refused */
	assert_int_equal(srv_certfiles_remove(dir, "gone"), 0);
	assert_int_equal(srv_certfiles_remove(dir, ".."), AD_EINVAL);
	assert_int_equal(srv_certfiles_remove(dir, "a/b"), AD_EINVAL);
	assert_int_equal(srv_certfiles_remove(dir, ""), AD_EINVAL);
}

/*
 * The reader protocol a consumer needs for a consistent pair: resolve
 * `live` once (open the directory), then read both files through it.
 * Exit 0: only matching pairs seen (and at least one); 1: a mismatch.
 */
static void
reader(const char *d, int stop_fd)
{
	char buf[16384], kbuf[8192];
	struct pollfd p = {.fd = stop_fd, .events = POLLIN};
	long reads = 0, retries = 0;
	ssize_t n, kn;
	int dfd, f;

	for (;;) {
		if (poll(&p, 1, 0) > 0)
			break;
		dfd = open(path2(d, "live"), O_RDONLY | O_DIRECTORY);
		if (dfd < 0) {
			retries++;
			continue;
		}
		n = kn = -1;
		f = openat(dfd, "fullchain.pem", O_RDONLY);
		if (f >= 0) {
			n = read(f, buf, sizeof(buf));
			close(f);
		}
		f = openat(dfd, "key.pem", O_RDONLY);
		if (f >= 0) {
			kn = read(f, kbuf, sizeof(kbuf));
			close(f);
		}
		close(dfd);
		if (n <= 0 || kn <= 0) {
			/* only possible if the version was pruned while we
			 * held it (10 newer ones written meanwhile) */
			retries++;
			continue;
		}
		if (!key_matches(buf, (size_t)n, kbuf, (size_t)kn)) {
			fprintf(stderr, "reader: key does not match cert\n");
			_exit(1);
		}
		reads++;
	}
	fprintf(stderr, "reader: %ld consistent reads, %ld retries\n", reads,
		retries);
	_exit(reads > 0 ? 0 : 2);
}

static void
test_concurrent_reader(void **state)
{
	const char *dir = certs_dir("reader");
	char d[600];
	int sp[2], st, i;
	pid_t pid;

	(void)state;
	snprintf(d, sizeof(d), "%s/r", dir);
	write_ok(dir, "r", 0, g_t0, 1);
	TP_CHECK(pipe(sp) == 0);
	pid = fork();
	TP_CHECK(pid >= 0);
	if (pid == 0) {
		close(sp[1]);
		reader(d, sp[0]);
	}
	close(sp[0]);
	for (i = 1; i < 60; i++) {
		write_ok(dir, "r", i % NCERTS, g_t0 + i, 1);
		usleep(2000);
	}
	close(sp[1]); /* the reader stops */
	TP_CHECK(waitpid(pid, &st, 0) == pid);
	assert_true(WIFEXITED(st));
	assert_int_equal(WEXITSTATUS(st), 0);
}

/* ---- hooks ------------------------------------------------------------- */

struct hookres {
	int called, status;
	double at;
	int *left, *all;
};

static void
on_hook(void *arg, int status)
{
	struct hookres *r = arg;

	r->called++;
	r->status = status;
	r->at = tp_now();
	if (--*r->left == 0)
		*r->all = 1;
}

static int
count_lines_with(const char *log, const char *needle)
{
	int n = 0;
	const char *p = log;

	while ((p = strstr(p, needle)) != NULL) {
		n++;
		p += strlen(needle);
	}
	return n;
}

static void
test_hooks(void **state)
{
	enum { N = 6 };
	static const char *const env[] = {"ACMEDNS_DOMAIN=www.example.test",
					  "ACMEDNS_CERT_DIR=/x/y", NULL};
	struct hookres r[N];
	uv_loop_t loop;
	char logpath[400], *log;
	int left = N, all = 0, i, saved, fd;
	double t0;

	(void)state;
	memset(r, 0, sizeof(r));
	for (i = 0; i < N; i++) {
		r[i].left = &left;
		r[i].all = &all;
	}
	/* something the daemon has that a hook must not inherit */
	setenv("ACMEIO_SECRET", "do-not-pass", 1);
	snprintf(logpath, sizeof(logpath), "%s/hooks.log", g_dir);
	fd = open(logpath, O_WRONLY | O_CREAT | O_TRUNC, 0600);
	TP_CHECK(fd >= 0);
	saved = dup(2);
	dup2(fd, 2);
	close(fd);

	uv_loop_init(&loop);
	t0 = tp_now();
	/* all at once: the slowest (TERM ignored -> KILL 5 s later) bounds
	 * the time */
	assert_int_equal(srv_hook_run(&loop,
				      "echo \"D=$ACMEDNS_DOMAIN "
				      "C=$ACMEDNS_CERT_DIR\"; echo to-stderr "
				      ">&2; echo \"S=${ACMEIO_SECRET:-unset}\";"
				      " test -n \"$PATH\" && test -n \"$HOME\""
				      " && printf 'no newline'; exit 3",
				      env, 10, on_hook, &r[0]),
			 0);
	assert_int_equal(
	    srv_hook_run(&loop, "sleep 30", NULL, 1, on_hook, &r[1]), 0);
	assert_int_equal(srv_hook_run(&loop, "trap '' TERM; sleep 30", NULL, 1,
				      on_hook, &r[2]),
			 0);
	assert_int_equal(srv_hook_run(&loop, "acmeio-no-such-command-xyz", NULL,
				      10, on_hook, &r[3]),
			 0);
	assert_int_equal(srv_hook_run(&loop,
				      "head -c 2000 /dev/zero | tr '\\0' L; "
				      "echo; head -c 100000 /dev/zero | "
				      "tr '\\0' a | fold -w 99; exit 0",
				      NULL, 10, on_hook, &r[4]),
			 0);
	assert_int_equal(
	    srv_hook_run(&loop, "exit 0", NULL, 10, on_hook, &r[5]), 0);
	/* a NULL done is allowed */
	assert_int_equal(srv_hook_run(&loop, "true", NULL, 10, NULL, NULL), 0);
	/* bad input: refused at once */
	assert_int_equal(srv_hook_run(&loop, "", NULL, 10, on_hook, &r[0]),
			 AD_EINVAL);
	{
		static const char *const bad[] = {"NOEQUALS", NULL};

		assert_int_equal(
		    srv_hook_run(&loop, "true", bad, 10, on_hook, &r[0]),
		    AD_EINVAL);
	}
	for (i = 0; i < N; i++)
		assert_int_equal(r[i].called, 0); /* never inside the call */
	tp_run_until(&loop, &all, 20000);
	assert_int_equal(tp_loop_close(&loop), 0);

	dup2(saved, 2);
	close(saved);
	unsetenv("ACMEIO_SECRET");
	log = tp_read(logpath);
	TP_CHECK(log != NULL);

	for (i = 0; i < N; i++)
		assert_int_equal(r[i].called, 1);
	assert_int_equal(r[0].status, 3);
	assert_non_null(strstr(log, "hook: D=www.example.test C=/x/y\n"));
	assert_non_null(strstr(log, "hook: to-stderr\n"));
	assert_non_null(strstr(log, "hook: S=unset\n"));
	assert_non_null(strstr(log, "hook: no newline\n"));
	assert_null(strstr(log, "do-not-pass"));

	/* timeout 1 s: SIGTERM to the group */
	assert_int_equal(r[1].status, -1);
	assert_true(r[1].at - t0 >= 0.9);
	assert_true(r[1].at - t0 < 4.0);
	/* TERM ignored: SIGKILL 5 s later */
	assert_int_equal(r[2].status, -1);
	assert_true(r[2].at - t0 >= 5.5);
	assert_true(r[2].at - t0 < 10.0);

	assert_int_equal(r[3].status, 127);
	assert_non_null(strstr(log, "acmeio-no-such-command-xyz"));

	/* a 2000-byte line is cut at 1 KiB; 64 KiB in all, then dropped */
	assert_int_equal(r[4].status, 0);
	assert_int_equal(count_lines_with(log, "hook: LLLL"), 1);
	assert_non_null(strstr(log, "output over 65536 bytes discarded"));
	i = count_lines_with(log, "hook: aaaa");
	assert_true(i > 600 && i < 670); /* ~ (65536 - 2001) / 100 */
	assert_int_equal(r[5].status, 0);
	free(log);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_write_twice),
	    cmocka_unit_test(test_same_second_twice),
	    cmocka_unit_test(test_key_absent),
	    cmocka_unit_test(test_prune),
	    cmocka_unit_test(test_refused),
	    cmocka_unit_test(test_dirname),
	    cmocka_unit_test(test_remove),
	    cmocka_unit_test(test_concurrent_reader),
	    cmocka_unit_test(test_hooks),
	};

	return cmocka_run_group_tests(tests, group_setup, group_teardown);
}
