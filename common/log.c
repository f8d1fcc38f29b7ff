/* SPDX-License-Identifier: MIT */
/*
 * stderr logger. Each event is formatted into one buffer and written with a
 * single write(2) so lines from several threads never interleave.
 */
#include "log.h"

#include "errors.h"

#include <stdarg.h>
#include <stdio.h>
#include <string.h>
#include <strings.h>
#include <time.h>
#include <unistd.h>

static enum ad_log_level g_level = AD_LOG_INFO;

void
ad_log_set_level(enum ad_log_level level)
{
	g_level = level;
}

enum ad_log_level
ad_log_get_level(void)
{
	return g_level;
}

int
ad_log_level_parse(const char *s, enum ad_log_level *out)
{
	static const char *names[] = {"error", "warning", "info", "debug"};
	for (unsigned i = 0; i < sizeof(names) / sizeof(names[0]); i++) {
		if (strcasecmp(s, names[i]) == 0) {
			*out = (enum ad_log_level)i;
			return 0;
		}
	}
	return AD_EINVAL;
}

void
ad_log(enum ad_log_level level, const char *component, const char *fmt, ...)
{
	static const char *tags[] = {"error", "warning", "info", "debug"};
	char line[1024];
	struct timespec ts;
	struct tm tm;
	size_t n;
	int r;
	va_list ap;

	if (level > g_level)
		return;
	clock_gettime(CLOCK_REALTIME, &ts);
	gmtime_r(&ts.tv_sec, &tm);
	n = strftime(line, sizeof(line), "%Y-%m-%dT%H:%M:%S", &tm);
	r = snprintf(line + n, sizeof(line) - n, ".%03ldZ %s %s: ",
		     ts.tv_nsec / 1000000, tags[level], component);
	if (r > 0)
		n += (size_t)r;
	va_start(ap, fmt);
	r = vsnprintf(line + n, sizeof(line) - n, fmt, ap);
	va_end(ap);
	if (r > 0)
		n += (size_t)r;
	if (n >= sizeof(line) - 1)
		n = sizeof(line) - 2; /* truncated: keep the newline */
	line[n++] = '\n';
	/* stderr may be closed or a pipe whose reader is gone: nothing to do */
	(void)!write(STDERR_FILENO, line, n);
}
