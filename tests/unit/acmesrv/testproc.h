/* SPDX-License-Identifier: MIT */
/*
 * Helpers shared by test_acme_http.c and test_certfiles.c: temporary
 * directories, shell commands (openssl CLI), child processes started and
 * stopped by PID, a loop watchdog. Header-only (static functions) so each
 * test stays one translation unit; tests only, never the daemon.
 */
#ifndef TESTPROC_H
#define TESTPROC_H

#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include <uv.h>

/* Abort with a message: usable where cmocka's longjmp is not (children,
 * loop callbacks). */
#define TP_CHECK(c)                                                            \
	do {                                                                   \
		if (!(c)) {                                                    \
			fprintf(stderr, "%s:%d: check failed: %s\n", __FILE__, \
				__LINE__, #c);                                 \
			abort();                                               \
		}                                                              \
	} while (0)

static inline double
tp_now(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

/* system() with a formatted command; returns the exit status. */
static inline int __attribute__((format(printf, 1, 2)))
tp_sh(const char *fmt, ...)
{
	char cmd[4096];
	va_list ap;
	int st;

	va_start(ap, fmt);
	vsnprintf(cmd, sizeof(cmd), fmt, ap);
	va_end(ap);
	st = system(cmd);
	if (st == -1 || !WIFEXITED(st))
		return -1;
	return WEXITSTATUS(st);
}

/* Write a whole file. */
static inline void
tp_write(const char *path, const char *data)
{
	FILE *f = fopen(path, "w");

	TP_CHECK(f != NULL);
	TP_CHECK(fputs(data, f) >= 0);
	TP_CHECK(fclose(f) == 0);
}

/* Read a whole file (malloc'd, NUL-terminated) or NULL. */
static inline char *
tp_read(const char *path)
{
	FILE *f = fopen(path, "r");
	char *buf;
	long n;

	if (!f)
		return NULL;
	fseek(f, 0, SEEK_END);
	n = ftell(f);
	fseek(f, 0, SEEK_SET);
	buf = malloc((size_t)n + 1);
	TP_CHECK(buf != NULL);
	if (fread(buf, 1, (size_t)n, f) != (size_t)n)
		n = 0;
	buf[n] = '\0';
	fclose(f);
	return buf;
}

/*
 * Start argv[0] with stdin a pipe we keep (the child may exit when it
 * closes), stdout a pipe returned in *out_fd (or -1: inherited), in its
 * own process group, terminated if we die. Returns the PID.
 */
static inline pid_t
tp_spawn(char *const argv[], int *out_fd, int *in_fd)
{
	int op[2] = {-1, -1}, ip[2];
	pid_t pid;

	TP_CHECK(pipe(ip) == 0);
	if (out_fd)
		TP_CHECK(pipe(op) == 0);
	pid = fork();
	TP_CHECK(pid >= 0);
	if (pid == 0) {
		setpgid(0, 0);
		/* a test killed by ctest's timeout must not leave nsd
		 * behind (httpd.py also watches its stdin) */
		prctl(PR_SET_PDEATHSIG, SIGTERM);
		dup2(ip[0], 0);
		if (out_fd)
			dup2(op[1], 1);
		close(ip[0]);
		close(ip[1]);
		if (out_fd) {
			close(op[0]);
			close(op[1]);
		}
		execvp(argv[0], argv);
		_exit(127);
	}
	close(ip[0]);
	if (in_fd)
		*in_fd = ip[1];
	else
		close(ip[1]);
	if (out_fd) {
		close(op[1]);
		*out_fd = op[0];
	}
	return pid;
}

/* Read one line from fd within timeout_ms. 0 or -1. */
static inline int
tp_read_line(int fd, char *buf, size_t cap, int timeout_ms)
{
	double end = tp_now() + timeout_ms / 1000.0;
	size_t n = 0;
	struct pollfd p = {.fd = fd, .events = POLLIN};
	ssize_t r;

	while (n + 1 < cap) {
		int left = (int)((end - tp_now()) * 1000);

		if (left <= 0 || poll(&p, 1, left) <= 0)
			return -1;
		r = read(fd, buf + n, 1);
		if (r <= 0)
			return -1;
		if (buf[n] == '\n')
			break;
		n++;
	}
	buf[n] = '\0';
	return 0;
}

/* Stop a child by PID: SIGTERM to its group, SIGKILL after 3 s. */
static inline void
tp_stop(pid_t pid)
{
	double end;
	int st;

	if (pid <= 0)
		return;
	kill(-pid, SIGTERM);
	kill(pid, SIGTERM);
	end = tp_now() + 3.0;
	while (tp_now() < end) {
		if (waitpid(pid, &st, WNOHANG) == pid)
			return;
		usleep(20000);
	}
	kill(-pid, SIGKILL);
	kill(pid, SIGKILL);
	waitpid(pid, &st, 0);
}

/* Run the loop until *done or the watchdog fires (abort: a hung test is a
 * failed test, not a ctest timeout minutes later). */
static inline void
tp__watchdog(uv_timer_t *t)
{
	fprintf(stderr, "watchdog: loop ran longer than %lu ms\n",
		(unsigned long)(uintptr_t)t->data);
	abort();
}

static inline void
tp_run_until(uv_loop_t *loop, const int *done, unsigned timeout_ms)
{
	uv_timer_t wd;

	uv_timer_init(loop, &wd);
	wd.data = (void *)(uintptr_t)timeout_ms;
	uv_timer_start(&wd, tp__watchdog, timeout_ms, 0);
	uv_unref((uv_handle_t *)&wd);
	while (!*done && uv_run(loop, UV_RUN_ONCE))
		;
	uv_close((uv_handle_t *)&wd, NULL);
	uv_run(loop, UV_RUN_NOWAIT);
}

/* Run the loop for ms milliseconds (handles that keep it alive stay). */
static inline void
tp__stop_cb(uv_timer_t *t)
{
	*(int *)t->data = 1;
}

static inline void
tp_run_for(uv_loop_t *loop, unsigned ms)
{
	uv_timer_t t;
	int done = 0;

	uv_timer_init(loop, &t);
	t.data = &done;
	uv_timer_start(&t, tp__stop_cb, ms, 0);
	while (!done)
		uv_run(loop, UV_RUN_ONCE);
	uv_close((uv_handle_t *)&t, NULL);
	uv_run(loop, UV_RUN_NOWAIT);
}

/* Close every handle left and run the loop empty; 0 if it closed. */
static inline void
tp__close_walk(uv_handle_t *h, void *arg)
{
	(void)arg;
	fprintf(stderr, "handle left open: %s (active %d)\n",
		uv_handle_type_name(uv_handle_get_type(h)), uv_is_active(h));
	if (!uv_is_closing(h))
		uv_close(h, NULL);
}

static inline int
tp_loop_close(uv_loop_t *loop)
{
	uv_run(loop, UV_RUN_DEFAULT);
	if (uv_loop_close(loop) == 0)
		return 0;
	uv_walk(loop, tp__close_walk, NULL);
	uv_run(loop, UV_RUN_DEFAULT);
	return uv_loop_close(loop) == 0 ? 1 : -1;
}

#endif
