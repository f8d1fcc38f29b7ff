/* SPDX-License-Identifier: MIT */
/* setgroups/setgid/setuid after binding, with a check that it stuck. */
#include "server/privdrop.h"

#include <errno.h>
#include <grp.h>
#include <pwd.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/prctl.h>
#include <unistd.h>

static int
lookup_ids(const char *user, const char *group, uid_t *uid, gid_t *gid,
	   char *err, size_t errlen)
{
	char *end;
	struct passwd *pw = getpwnam(user);
	if (pw) {
		*uid = pw->pw_uid;
		*gid = pw->pw_gid;
	} else {
		unsigned long v = strtoul(user, &end, 10);
		if (*user == '\0' || *end != '\0') {
			snprintf(err, errlen, "unknown user '%s'", user);
			return -1;
		}
		*uid = (uid_t)v;
		*gid = (gid_t)v;
	}
	if (group && *group) {
		struct group *gr = getgrnam(group);
		if (gr) {
			*gid = gr->gr_gid;
		} else {
			unsigned long v = strtoul(group, &end, 10);
			if (*end != '\0') {
				snprintf(err, errlen, "unknown group '%s'",
					 group);
				return -1;
			}
			*gid = (gid_t)v;
		}
	}
	return 0;
}

int
srv_drop_privileges(const char *user, const char *group, char *err,
		    size_t errlen)
{
	uid_t uid;
	gid_t gid;

	if (!user || !*user)
		return 0;
	if (lookup_ids(user, group, &uid, &gid, err, errlen))
		return -1;
	if (getuid() != 0 && geteuid() != 0) {
		if (geteuid() == uid)
			return 0;
		snprintf(err, errlen, "cannot switch to user '%s': not root",
			 user);
		return -1;
	}
	if (setgroups(1, &gid) != 0 || setgid(gid) != 0 || setuid(uid) != 0) {
		snprintf(err, errlen, "cannot switch to user '%s': %s", user,
			 strerror(errno));
		return -1;
	}
	if (uid != 0 && setuid(0) == 0) {
		snprintf(err, errlen, "privileges could be regained after drop");
		return -1;
	}
	prctl(PR_SET_NO_NEW_PRIVS, 1, 0, 0, 0);
	return 0;
}
