/* SPDX-License-Identifier: MIT */
/*
 * Least privilege after setup (Knot's process.c): once every socket is
 * bound, switch to an unprivileged user and group, drop supplementary
 * groups, and forbid regaining privileges (PR_SET_NO_NEW_PRIVS).
 */
#ifndef SRV_PRIVDROP_H
#define SRV_PRIVDROP_H

#include <stddef.h>

/*
 * user: name or numeric uid ("" = stay as we are). group: name or gid
 * ("" = the user's primary group). Returns 0, or nonzero with a message in
 * err. Verifies afterwards that uid 0 cannot be regained.
 */
int srv_drop_privileges(const char *user, const char *group, char *err,
			size_t errlen);

#endif
