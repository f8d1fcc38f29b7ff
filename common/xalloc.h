/* SPDX-License-Identifier: MIT */
/*
 * Allocation wrappers that abort on out-of-memory. A daemon that cannot get
 * a few hundred bytes has no sane way to continue; limits on what clients
 * can make us allocate are enforced before these are called.
 */
#ifndef AD_XALLOC_H
#define AD_XALLOC_H

#include <stddef.h>

void *xmalloc(size_t n);
void *xcalloc(size_t n, size_t size);
void *xrealloc(void *p, size_t n);
/* realloc for an array of n elements of size bytes, checking overflow */
void *xreallocarray(void *p, size_t n, size_t size);
char *xstrdup(const char *s);
char *xstrndup(const char *s, size_t n);
void *xmemdup(const void *p, size_t n);

#endif
