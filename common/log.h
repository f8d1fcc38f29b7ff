/* SPDX-License-Identifier: MIT */
/*
 * Logging to stderr, one line per event: "<time> <level> <component>: text".
 * Never pass secrets (API keys, private keys) to these functions.
 */
#ifndef AD_LOG_H
#define AD_LOG_H

enum ad_log_level {
	AD_LOG_ERR = 0,
	AD_LOG_WARN = 1,
	AD_LOG_INFO = 2,
	AD_LOG_DEBUG = 3,
};

/* Set the most verbose level that is written (default AD_LOG_INFO). */
void ad_log_set_level(enum ad_log_level level);
enum ad_log_level ad_log_get_level(void);
/* Parse "error", "warning", "info", "debug"; returns 0 or AD_EINVAL. */
int ad_log_level_parse(const char *s, enum ad_log_level *out);

void ad_log(enum ad_log_level level, const char *component, const char *fmt,
	    ...) __attribute__((format(printf, 3, 4)));

#define ad_err(comp, ...) ad_log(AD_LOG_ERR, comp, __VA_ARGS__)
#define ad_warn(comp, ...) ad_log(AD_LOG_WARN, comp, __VA_ARGS__)
#define ad_info(comp, ...) ad_log(AD_LOG_INFO, comp, __VA_ARGS__)
#define ad_debug(comp, ...)                                                    \
	do {                                                                   \
		if (ad_log_get_level() >= AD_LOG_DEBUG)                        \
			ad_log(AD_LOG_DEBUG, comp, __VA_ARGS__);               \
	} while (0)

#endif
