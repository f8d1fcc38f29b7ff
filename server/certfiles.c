/* SPDX-License-Identifier: MIT */
/*
 * Certificate output files (contract §5) and deploy hooks. Owns the
 * layout under [certs] dir described in certfiles.h: versions written
 * completely and durably under archive/, published by one rename of a
 * `live` symlink, pruned to SRV_CERTFILES_KEEP; and the hook child
 * processes (spawn, output logging, timeout). It must never log or leave
 * readable a private key, never follow a symlink it did not make when
 * deleting, and never block the loop on a hook.
 */
#include "server/certfiles.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "acme/pki.h"
#include "common/errors.h"
#include "common/log.h"
#include "common/util.h"
#include "common/xalloc.h"

#define CERTS__MAX_DEPTH 8 /* deepest tree rmtree descends (layout: 3) */
#define CERTS__VERSION_MAX 128

static const char *const certs__files[] = {"cert.pem", "chain.pem",
					   "fullchain.pem", "key.pem"};

/* A directory name we create under [certs] dir: one path component, not
 * hidden (and so neither "." nor ".."), short enough for NAME_MAX. */
static bool
certs__dirname_ok(const char *name)
{
	size_t n;

	if (!name)
		return false;
	n = strnlen(name, 256);
	return n > 0 && n < 256 && name[0] != '.' && !strchr(name, '/');
}

/* fsync a directory so the entries created/renamed in it are durable. */
static int
certs__fsync_dir(int dfd)
{
	if (fsync(dfd) != 0 && errno != EINVAL)
		return -errno;
	return 0;
}

/* mkdir -p with mode for the missing components (existing ones are left
 * as they are: the admin may have chosen other modes). */
static int
certs__mkdirs(const char *path, mode_t mode)
{
	char buf[4096];
	size_t n = ad_strlcpy(buf, path, sizeof(buf));
	char *p;

	if (n >= sizeof(buf) || n == 0)
		return AD_EINVAL;
	for (p = buf + 1; *p; p++) {
		if (*p != '/')
			continue;
		*p = '\0';
		if (mkdir(buf, mode) != 0 && errno != EEXIST)
			return -errno;
		*p = '/';
	}
	if (mkdir(buf, mode) != 0 && errno != EEXIST)
		return -errno;
	return 0;
}

/* mkdirat that also ensures the mode (the umask may have cut it). */
static int
certs__mkdirat(int dfd, const char *name, mode_t mode, bool may_exist)
{
	if (mkdirat(dfd, name, mode) != 0) {
		if (errno != EEXIST || !may_exist)
			return -errno;
		return 0;
	}
	if (fchmodat(dfd, name, mode, 0) != 0)
		return -errno;
	return 0;
}

/*
 * Write name in dfd atomically and durably: a temp file (O_EXCL, exact
 * mode set before any byte is written, so a key is never readable by
 * others even briefly), fsync, rename.
 */
static int
certs__write_file(int dfd, const char *name, const char *data, size_t len,
		  mode_t mode)
{
	char tmp[64];
	size_t off = 0;
	ssize_t w;
	int fd, rc = 0;

	snprintf(tmp, sizeof(tmp), ".%s.tmp", name);
	unlinkat(dfd, tmp, 0);
	fd = openat(dfd, tmp,
		    O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC | O_NOFOLLOW, mode);
	if (fd < 0)
		return -errno;
	if (fchmod(fd, mode) != 0)
		rc = -errno;
	while (rc == 0 && off < len) {
		w = write(fd, data + off, len - off);
		if (w < 0 && errno == EINTR)
			continue;
		if (w <= 0)
			rc = w < 0 ? -errno : AD_EIO;
		else
			off += (size_t)w;
	}
	if (rc == 0 && fsync(fd) != 0)
		rc = -errno;
	if (close(fd) != 0 && rc == 0)
		rc = -errno;
	if (rc == 0 && renameat(dfd, tmp, dfd, name) != 0)
		rc = -errno;
	if (rc != 0)
		unlinkat(dfd, tmp, 0);
	return rc;
}

/* Remove name under parent, recursively, without following symlinks
 * (a link is removed, never its target). ENOENT is success. */
static int
certs__rmtree_at(int parent, const char *name, int depth)
{
	struct dirent *de;
	struct stat st;
	DIR *d;
	int fd, rc = 0, r;

	if (fstatat(parent, name, &st, AT_SYMLINK_NOFOLLOW) != 0)
		return errno == ENOENT ? 0 : -errno;
	if (!S_ISDIR(st.st_mode))
		return unlinkat(parent, name, 0) == 0 || errno == ENOENT
			   ? 0
			   : -errno;
	if (depth >= CERTS__MAX_DEPTH)
		return -ELOOP;
	fd = openat(parent, name,
		    O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
	if (fd < 0)
		return -errno;
	d = fdopendir(fd);
	if (!d) {
		rc = -errno;
		close(fd);
		return rc;
	}
	while ((de = readdir(d)) != NULL) {
		if (strcmp(de->d_name, ".") == 0 ||
		    strcmp(de->d_name, "..") == 0)
			continue;
		r = certs__rmtree_at(dirfd(d), de->d_name, depth + 1);
		if (r != 0 && rc == 0)
			rc = r;
	}
	closedir(d);
	if (rc == 0 && unlinkat(parent, name, AT_REMOVEDIR) != 0 &&
	    errno != ENOENT)
		rc = -errno;
	return rc;
}

static int
certs__cmp(const void *a, const void *b)
{
	return strcmp(*(char *const *)a, *(char *const *)b);
}

/* The version `live` points to ("archive/<v>" -> "<v>"), or "". */
static void
certs__live_version(int dfd, char *out, size_t cap)
{
	char buf[512];
	ssize_t n;

	out[0] = '\0';
	n = readlinkat(dfd, "live", buf, sizeof(buf) - 1);
	if (n <= 8)
		return;
	buf[n] = '\0';
	if (strncmp(buf, "archive/", 8) == 0)
		ad_strlcpy(out, buf + 8, cap);
}

/* Keep the newest SRV_CERTFILES_KEEP versions (names sort by time),
 * never the live one. Hidden entries (a crashed write's leftovers are
 * not hidden, they are versions too) are left alone. */
static void
certs__prune(int dfd, const char *path)
{
	char live[CERTS__VERSION_MAX + 8];
	char **v = NULL;
	size_t n = 0, cap = 0, i, excess;
	struct dirent *de;
	struct stat st;
	int afd, r;
	DIR *d;

	certs__live_version(dfd, live, sizeof(live));
	afd = openat(dfd, "archive",
		     O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
	if (afd < 0)
		return;
	d = fdopendir(afd);
	if (!d) {
		close(afd);
		return;
	}
	while ((de = readdir(d)) != NULL) {
		if (de->d_name[0] == '.')
			continue;
		if (fstatat(afd, de->d_name, &st, AT_SYMLINK_NOFOLLOW) != 0 ||
		    !S_ISDIR(st.st_mode))
			continue;
		if (n == cap) {
			cap = cap ? cap * 2 : 16;
			v = xreallocarray(v, cap, sizeof(*v));
		}
		v[n++] = xstrdup(de->d_name);
	}
	if (n > 1)
		qsort(v, n, sizeof(*v), certs__cmp);
	excess = n > SRV_CERTFILES_KEEP ? n - SRV_CERTFILES_KEEP : 0;
	for (i = 0; i < n && excess > 0; i++) {
		if (strcmp(v[i], live) == 0)
			continue;
		r = certs__rmtree_at(afd, v[i], 1);
		if (r != 0)
			ad_warn("certs", "%s/archive/%s: cannot remove: %s",
				path, v[i], ad_strerror(r));
		excess--;
	}
	certs__fsync_dir(afd);
	for (i = 0; i < n; i++)
		free(v[i]);
	free(v);
	closedir(d);
}

/* Make the top-level link name -> live/name if it is missing. */
static int
certs__ensure_link(int dfd, const char *name)
{
	char target[32];
	struct stat st;

	if (fstatat(dfd, name, &st, AT_SYMLINK_NOFOLLOW) == 0)
		return 0;
	if (errno != ENOENT)
		return -errno;
	snprintf(target, sizeof(target), "live/%s", name);
	if (symlinkat(target, dfd, name) != 0 && errno != EEXIST)
		return -errno;
	return 0;
}

/* Publish archive/<version>: a fresh symlink renamed over `live` is the
 * one atomic step readers can observe (rename(2) replaces atomically). */
static int
certs__publish(int dfd, const char *version)
{
	char target[CERTS__VERSION_MAX + 16];

	snprintf(target, sizeof(target), "archive/%s", version);
	if (unlinkat(dfd, "live.tmp", 0) != 0 && errno != ENOENT)
		return -errno;
	if (symlinkat(target, dfd, "live.tmp") != 0)
		return -errno;
	if (renameat(dfd, "live.tmp", dfd, "live") != 0) {
		int rc = -errno;

		unlinkat(dfd, "live.tmp", 0);
		return rc;
	}
	return certs__fsync_dir(dfd);
}

/* "<dir>/<dirname>" malloc'd. */
static char *
certs__join(const char *dir, const char *dirname)
{
	size_t a = strlen(dir), b = strlen(dirname);
	char *p = xmalloc(a + b + 2);

	memcpy(p, dir, a);
	p[a] = '/';
	memcpy(p + a + 1, dirname, b + 1);
	return p;
}

/* Check the chain (and the key against its leaf) and get the serial. */
static int
certs__inspect(const char *fullchain, const char *key_pem, char *serial,
	       size_t cap, char *err, size_t errlen)
{
	struct acme_certinfo info;
	EVP_PKEY *key = NULL;
	int rc;

	if (key_pem && acme_key_from_pem(key_pem, strlen(key_pem), &key) != 0) {
		snprintf(err, errlen, "private key: unreadable");
		return AD_EINVAL;
	}
	rc = acme_chain_parse(fullchain, strlen(fullchain), key, &info);
	EVP_PKEY_free(key);
	if (rc == AD_EINVAL) {
		snprintf(err, errlen,
			 "private key does not match the "
			 "certificate");
		return rc;
	}
	if (rc != 0) {
		snprintf(err, errlen, "certificate chain: %s", ad_strerror(rc));
		return rc;
	}
	/* long serials make long names: 40 hex digits (160 bits, the RFC
	 * 5280 §4.1.2.2 maximum) are plenty to tell versions apart */
	snprintf(serial, cap, "%.40s", info.serial[0] ? info.serial : "0");
	acme_certinfo_free(&info);
	return 0;
}

/* Create archive/<version> (a unique name: "-2", "-3"... when the same
 * certificate is written twice within a second). */
static int
certs__new_version(int afd, int64_t now, const char *serial, char *out,
		   size_t cap)
{
	char stamp[32];
	struct tm tm;
	time_t t = (time_t)now;
	int i, rc;

	if (!gmtime_r(&t, &tm) ||
	    strftime(stamp, sizeof(stamp), "%Y%m%dT%H%M%SZ", &tm) == 0)
		return AD_EINVAL;
	for (i = 1; i <= 100; i++) {
		if (i == 1)
			snprintf(out, cap, "%s-%s", stamp, serial);
		else
			snprintf(out, cap, "%s-%s-%d", stamp, serial, i);
		rc = certs__mkdirat(afd, out, 0700, false);
		if (rc != -EEXIST)
			return rc;
	}
	return -EEXIST;
}

int
srv_certfiles_write(const char *dir, const char *dirname,
		    const char *fullchain_pem, const char *key_pem, int64_t now,
		    char **out_path, char *err, size_t errlen)
{
	char serial[48], version[CERTS__VERSION_MAX];
	char *path = NULL, *leaf = NULL, *rest = NULL, *full = NULL;
	size_t ll, rl, i;
	int dfd = -1, afd = -1, vfd = -1, rc;
	bool made = false;

	if (out_path)
		*out_path = NULL;
	if (!dir || !dir[0] || !fullchain_pem) {
		snprintf(err, errlen, "no directory or certificate");
		return AD_EINVAL;
	}
	if (!certs__dirname_ok(dirname)) {
		snprintf(err, errlen, "bad directory name");
		return AD_EINVAL;
	}
	rc = certs__inspect(fullchain_pem, key_pem, serial, sizeof(serial), err,
			    errlen);
	if (rc != 0)
		return rc;
	rc = acme_chain_split(fullchain_pem, strlen(fullchain_pem), &leaf,
			      &rest);
	if (rc != 0) {
		snprintf(err, errlen, "certificate chain: %s", ad_strerror(rc));
		return rc;
	}
	/* fullchain.pem is exactly cert.pem followed by chain.pem */
	ll = strlen(leaf);
	rl = strlen(rest);
	full = xmalloc(ll + rl + 1);
	memcpy(full, leaf, ll);
	memcpy(full + ll, rest, rl + 1);

	path = certs__join(dir, dirname);
	rc = certs__mkdirs(dir, 0700);
	if (rc == 0)
		rc = certs__mkdirs(path, 0700);
	if (rc != 0) {
		snprintf(err, errlen, "%s: %s", path, ad_strerror(rc));
		goto out;
	}
	dfd = open(path, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
	if (dfd < 0) {
		rc = -errno;
		snprintf(err, errlen, "%s: %s", path, ad_strerror(rc));
		goto out;
	}
	rc = certs__mkdirat(dfd, "archive", 0700, true);
	if (rc == 0) {
		afd = openat(dfd, "archive",
			     O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
		if (afd < 0)
			rc = -errno;
	}
	if (rc != 0) {
		snprintf(err, errlen, "%s/archive: %s", path, ad_strerror(rc));
		goto out;
	}
	rc = certs__new_version(afd, now, serial, version, sizeof(version));
	if (rc != 0) {
		snprintf(err, errlen, "%s/archive: %s", path, ad_strerror(rc));
		goto out;
	}
	made = true;
	vfd = openat(afd, version,
		     O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
	if (vfd < 0) {
		rc = -errno;
		goto fail_io;
	}
	rc = certs__write_file(vfd, "cert.pem", leaf, ll, 0644);
	if (rc == 0)
		rc = certs__write_file(vfd, "chain.pem", rest, rl, 0644);
	if (rc == 0)
		rc = certs__write_file(vfd, "fullchain.pem", full, ll + rl,
				       0644);
	if (rc == 0 && key_pem)
		rc = certs__write_file(vfd, "key.pem", key_pem, strlen(key_pem),
				       0600);
	/* the renames inside the version and the version itself durable
	 * before anything points to them */
	if (rc == 0)
		rc = certs__fsync_dir(vfd);
	if (rc == 0)
		rc = certs__fsync_dir(afd);
	if (rc != 0)
		goto fail_io;
	rc = certs__publish(dfd, version);
	if (rc != 0)
		goto fail_io;
	made = false; /* live now: never removed on a later error */

	/* the stable paths users configure; made once, they follow live */
	for (i = 0; i < 3 && rc == 0; i++)
		rc = certs__ensure_link(dfd, certs__files[i]);
	if (rc == 0 && key_pem)
		rc = certs__ensure_link(dfd, "key.pem");
	else if (rc == 0 && unlinkat(dfd, "key.pem", 0) != 0 && errno != ENOENT)
		rc = -errno;
	if (rc == 0)
		rc = certs__fsync_dir(dfd);
	if (rc != 0) {
		/* the version is live (live/ has it): a failed convenience
		 * link is worth a warning, not a "nothing published" error
		 * that would make the caller write yet another version */
		ad_warn("certs", "%s: top-level links: %s", path,
			ad_strerror(rc));
		rc = 0;
	}
	certs__prune(dfd, path);
	ad_info("certs", "%s: wrote version %s", path, version);
	if (out_path) {
		*out_path = path;
		path = NULL;
	}
	goto out;

fail_io:
	snprintf(err, errlen, "%s/archive/%s: %s", path, version,
		 ad_strerror(rc));
out:
	if (made && afd >= 0)
		certs__rmtree_at(afd, version, 1);
	if (vfd >= 0)
		close(vfd);
	if (afd >= 0)
		close(afd);
	if (dfd >= 0)
		close(dfd);
	free(path);
	free(leaf);
	free(rest);
	free(full);
	return rc;
}

int
srv_certfiles_remove(const char *dir, const char *dirname)
{
	int fd, rc;

	if (!dir || !dir[0] || !certs__dirname_ok(dirname))
		return AD_EINVAL;
	fd = open(dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	if (fd < 0)
		return errno == ENOENT ? 0 : -errno;
	rc = certs__rmtree_at(fd, dirname, 0);
	if (rc == 0)
		rc = certs__fsync_dir(fd);
	close(fd);
	return rc;
}

void
srv_certfiles_dirname(const char *name, char *out, size_t cap)
{
	size_t o = 0;
	const char *p = name ? name : "";
	char c;

	if (cap == 0)
		return;
	if (strncmp(p, "*.", 2) == 0) {
		o = ad_strlcpy(out, "_wildcard", cap);
		if (o >= cap)
			o = cap - 1;
		p++;
	}
	for (; *p && o + 1 < cap; p++) {
		c = *p;
		if (c >= 'A' && c <= 'Z')
			c = (char)(c - 'A' + 'a'); /* DNS names: no case */
		if (!((c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') ||
		      c == '.' || c == '-' || c == '_'))
			c = '_';
		out[o++] = c;
	}
	out[o] = '\0';
	/* never hidden, never "" / "." / "..": those mean other things */
	if (o == 0 && cap > 1) {
		out[0] = '_';
		out[1] = '\0';
	} else if (out[0] == '.') {
		out[0] = '_';
	}
}

/* ---- deploy hooks ------------------------------------------------------- */

#define HOOK__LINE_MAX 1024          /* longer lines are cut */
#define HOOK__OUTPUT_MAX (64 * 1024) /* the rest is read and dropped */
#define HOOK__KILL_GRACE_MS 5000     /* SIGTERM -> SIGKILL */
#define HOOK__EOF_GRACE_MS 1000      /* exit -> stop waiting for EOF */
#define HOOK__DEFAULT_TIMEOUT_S 300
#define HOOK__MAX_ENV 64

struct hook;

struct hook__stream {
	uv_pipe_t pipe;
	struct hook *hk;
	bool eof;
	bool cut; /* dropping the rest of an overlong line */
	size_t len;
	char line[HOOK__LINE_MAX + 1];
	char rbuf[4096];
};

struct hook {
	uv_process_t proc;
	uv_timer_t timer;
	struct hook__stream out, err;
	srv_hook_cb done;
	void *arg;
	int pid;
	int status;
	unsigned closing; /* handles whose close callback is pending */
	size_t total;     /* output bytes seen */
	bool spawned, exited, timed_out, term_sent, finished;
};

static void
hook__release(struct hook *hk)
{
	if (--hk->closing == 0)
		free(hk);
}

static void
hook__closed(uv_handle_t *hd)
{
	hook__release(hd->data);
}

/* the pipes' data is their stream */
static void
hook__pipe_closed(uv_handle_t *hd)
{
	hook__release(((struct hook__stream *)hd->data)->hk);
}

static void
hook__close(struct hook *hk, uv_handle_t *hd)
{
	if (uv_is_closing(hd))
		return;
	hk->closing++;
	uv_close(hd,
		 hd->type == UV_NAMED_PIPE ? hook__pipe_closed : hook__closed);
}

/* Log one line: control characters replaced so the log stays one line
 * per event and a hook cannot forge log entries. */
static void
hook__emit(struct hook__stream *s)
{
	size_t i;

	s->line[s->len] = '\0';
	for (i = 0; i < s->len; i++)
		if ((unsigned char)s->line[i] < 0x20 || s->line[i] == 0x7f)
			s->line[i] = s->line[i] == '\t' ? ' ' : '?';
	ad_info("hook", "%s", s->line);
	s->len = 0;
}

static void
hook__finish(struct hook *hk)
{
	if (hk->finished)
		return;
	hk->finished = true;
	if (hk->out.len)
		hook__emit(&hk->out);
	if (hk->err.len)
		hook__emit(&hk->err);
	uv_timer_stop(&hk->timer);
	if (hk->done)
		hk->done(hk->arg, hk->status);
	hook__close(hk, (uv_handle_t *)&hk->out.pipe);
	hook__close(hk, (uv_handle_t *)&hk->err.pipe);
	hook__close(hk, (uv_handle_t *)&hk->timer);
	hook__close(hk, (uv_handle_t *)&hk->proc);
}

static void
hook__timer_cb(uv_timer_t *t)
{
	struct hook *hk = t->data;

	if (!hk->spawned || hk->exited) {
		/* spawn failure to report, or the exit came and the pipes
		 * are held open by a leftover grandchild: stop waiting */
		hook__finish(hk);
		return;
	}
	/* the shell runs in its own session (UV_PROCESS_DETACHED): signal
	 * the whole group, else `sh -c "a; b"` leaves b running with our
	 * pipes open */
	if (!hk->term_sent) {
		hk->term_sent = true;
		hk->timed_out = true;
		ad_warn("hook", "timed out; sending SIGTERM to %d", hk->pid);
		kill(-hk->pid, SIGTERM);
		uv_timer_start(&hk->timer, hook__timer_cb, HOOK__KILL_GRACE_MS,
			       0);
	} else {
		ad_warn("hook", "still running; sending SIGKILL to %d",
			hk->pid);
		kill(-hk->pid, SIGKILL);
	}
}

static void
hook__maybe_finish(struct hook *hk)
{
	if (hk->exited && hk->out.eof && hk->err.eof)
		hook__finish(hk);
}

static void
hook__exit_cb(uv_process_t *p, int64_t exit_status, int term_signal)
{
	struct hook *hk = p->data;

	hk->exited = true;
	if (term_signal || hk->timed_out)
		hk->status = -1;
	else
		hk->status = (int)exit_status;
	/* whatever is left of the group after a timeout; the group id
	 * cannot name another process: it stays taken while any member
	 * lives, and an empty group's id comes back only after a full turn
	 * of the pid space */
	if (hk->timed_out)
		kill(-hk->pid, SIGKILL);
	uv_timer_stop(&hk->timer);
	uv_timer_start(&hk->timer, hook__timer_cb, HOOK__EOF_GRACE_MS, 0);
	hook__maybe_finish(hk);
}

static void
hook__alloc_cb(uv_handle_t *hd, size_t suggested, uv_buf_t *buf)
{
	struct hook__stream *s = hd->data;

	(void)suggested;
	buf->base = s->rbuf;
	buf->len = sizeof(s->rbuf);
}

static void
hook__read_cb(uv_stream_t *st, ssize_t nread, const uv_buf_t *buf)
{
	struct hook__stream *s = st->data;
	struct hook *hk = s->hk;
	ssize_t i;
	char c;

	if (nread < 0) {
		/* EOF or a read error: this stream is done */
		if (s->len)
			hook__emit(s);
		s->eof = true;
		uv_read_stop(st);
		hook__maybe_finish(hk);
		return;
	}
	for (i = 0; i < nread; i++) {
		if (hk->total >= HOOK__OUTPUT_MAX) {
			if (hk->total == HOOK__OUTPUT_MAX)
				ad_info("hook",
					"(output over %d bytes "
					"discarded)",
					HOOK__OUTPUT_MAX);
			hk->total += (size_t)(nread - i);
			return;
		}
		hk->total++;
		c = buf->base[i];
		if (c == '\n') {
			if (!s->cut || s->len)
				hook__emit(s);
			s->cut = false;
			continue;
		}
		if (s->cut)
			continue;
		if (s->len == HOOK__LINE_MAX) {
			hook__emit(s);
			s->cut = true;
			continue;
		}
		s->line[s->len++] = c;
	}
}

/* PATH and HOME from the daemon's environment (or safe defaults), then
 * the caller's "K=V" strings; malloc'd vector of borrowed strings. */
static int
hook__env(const char *const *env, char **path, char **home, char ***out)
{
	const char *p = getenv("PATH"), *h = getenv("HOME");
	size_t n = 0, i;
	char **v;

	while (env && env[n]) {
		if (n >= HOOK__MAX_ENV || !strchr(env[n], '=') ||
		    env[n][0] == '=')
			return AD_EINVAL;
		n++;
	}
	v = xcalloc(n + 3, sizeof(*v));
	*path = xmalloc(strlen(p ? p : "") + 64);
	sprintf(*path, "PATH=%s",
		p && p[0] ? p
			  : "/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin"
			    ":/sbin:/bin");
	*home = xmalloc(strlen(h ? h : "") + 8);
	sprintf(*home, "HOME=%s", h && h[0] ? h : "/");
	v[0] = *path;
	v[1] = *home;
	for (i = 0; i < n; i++)
		v[2 + i] = (char *)env[i];
	v[2 + n] = NULL;
	*out = v;
	return 0;
}

int
srv_hook_run(uv_loop_t *loop, const char *cmd, const char *const *env,
	     unsigned timeout_s, srv_hook_cb done, void *arg)
{
	uv_process_options_t o;
	uv_stdio_container_t stdio[3];
	char *args[4], **envv = NULL, *path = NULL, *home = NULL;
	struct hook *hk;
	int rc;

	if (!loop || !cmd || !cmd[0])
		return AD_EINVAL;
	rc = hook__env(env, &path, &home, &envv);
	if (rc != 0)
		return rc;
	hk = xcalloc(1, sizeof(*hk));
	hk->done = done;
	hk->arg = arg;
	uv_timer_init(loop, &hk->timer);
	hk->timer.data = hk;
	hk->proc.data = hk;
	hk->out.hk = hk->err.hk = hk;
	uv_pipe_init(loop, &hk->out.pipe, 0);
	uv_pipe_init(loop, &hk->err.pipe, 0);
	hk->out.pipe.data = &hk->out;
	hk->err.pipe.data = &hk->err;

	args[0] = "/bin/sh";
	args[1] = "-c";
	args[2] = (char *)cmd;
	args[3] = NULL;
	memset(&o, 0, sizeof(o));
	/* stdin: libuv connects an ignored fd 0..2 to /dev/null */
	stdio[0].flags = UV_IGNORE;
	stdio[1].flags = UV_CREATE_PIPE | UV_WRITABLE_PIPE;
	stdio[1].data.stream = (uv_stream_t *)&hk->out.pipe;
	stdio[2].flags = UV_CREATE_PIPE | UV_WRITABLE_PIPE;
	stdio[2].data.stream = (uv_stream_t *)&hk->err.pipe;
	o.file = args[0];
	o.args = args;
	o.env = envv;
	o.stdio = stdio;
	o.stdio_count = 3;
	o.exit_cb = hook__exit_cb;
	/* own session and process group, so the timeout can kill it all */
	o.flags = UV_PROCESS_DETACHED;
	rc = uv_spawn(loop, &hk->proc, &o);
	free(envv);
	free(path);
	free(home);
	if (rc != 0) {
		/* done must not run inside this call: report it from the
		 * timer on the next loop iteration */
		ad_warn("hook", "cannot start: %s", uv_strerror(rc));
		hk->status = rc;
		hk->out.eof = hk->err.eof = true;
		uv_timer_start(&hk->timer, hook__timer_cb, 0, 0);
		return 0;
	}
	hk->spawned = true;
	hk->pid = hk->proc.pid;
	uv_read_start((uv_stream_t *)&hk->out.pipe, hook__alloc_cb,
		      hook__read_cb);
	uv_read_start((uv_stream_t *)&hk->err.pipe, hook__alloc_cb,
		      hook__read_cb);
	uv_timer_start(
	    &hk->timer, hook__timer_cb,
	    (uint64_t)(timeout_s ? timeout_s : HOOK__DEFAULT_TIMEOUT_S) * 1000,
	    0);
	return 0;
}
