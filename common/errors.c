/* SPDX-License-Identifier: MIT */
/* Text for the AD_E* codes; negative errno values map to strerror(). */
#include "errors.h"

#include <string.h>

const char *
ad_strerror(int code)
{
	switch (code) {
	case AD_EOK:
		return "success";
	case AD_ENOMEM:
		return "out of memory";
	case AD_EINVAL:
		return "invalid value";
	case AD_ERANGE:
		return "value out of range";
	case AD_ESPACE:
		return "not enough space";
	case AD_EMALF:
		return "malformed data";
	case AD_ENOENT:
		return "not found";
	case AD_EEXIST:
		return "already exists";
	case AD_ELIMIT:
		return "limit reached";
	case AD_ENOTZONE:
		return "name is outside the zone";
	case AD_EUNSUP:
		return "not supported";
	case AD_EIO:
		return "I/O error";
	case AD_EAUTH:
		return "authentication failed";
	case AD_ECRYPTO:
		return "cryptographic failure";
	default:
		break;
	}
	if (code < 0 && code > AD_E_BASE)
		return strerror(-code);
	return "unknown error";
}
