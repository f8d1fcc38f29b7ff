/* SPDX-License-Identifier: MIT */
/*
 * One error space for all of acmedns. Functions return 0 on success or a
 * negative AD_E* code; errno values pass through as -errno (they are all
 * smaller in magnitude than AD_E_BASE). Results travel via out-parameters.
 */
#ifndef AD_ERRORS_H
#define AD_ERRORS_H

#define AD_E_BASE (-10000)

enum {
	AD_EOK = 0,
	AD_ENOMEM = AD_E_BASE - 1,   /* allocation failed */
	AD_EINVAL = AD_E_BASE - 2,   /* invalid argument or value */
	AD_ERANGE = AD_E_BASE - 3,   /* value out of its allowed range */
	AD_ESPACE = AD_E_BASE - 4,   /* output buffer too small */
	AD_EMALF = AD_E_BASE - 5,    /* malformed input */
	AD_ENOENT = AD_E_BASE - 6,   /* no such item */
	AD_EEXIST = AD_E_BASE - 7,   /* item exists already */
	AD_ELIMIT = AD_E_BASE - 8,   /* a configured limit was reached */
	AD_ENOTZONE = AD_E_BASE - 9, /* name outside the zone */
	AD_EUNSUP = AD_E_BASE - 10,  /* not supported */
	AD_EIO = AD_E_BASE - 11,     /* I/O or storage failure */
	AD_EAUTH = AD_E_BASE - 12,   /* authentication failed */
	AD_ECRYPTO = AD_E_BASE - 13, /* cryptographic library failure */
	AD_ELAST = AD_E_BASE - 14,
};

/* Human text for an AD_E* code or -errno. Never NULL; static storage. */
const char *ad_strerror(int code);

#endif
