/* SPDX-License-Identifier: MIT */
/*
 * Registration table: chained hash, doubled when the load passes 1, so
 * lookups stay O(1) for any number of registrations.
 */
#include "server/regs.h"
#include "common/errors.h"
#include "common/util.h"
#include "common/xalloc.h"

#include <stdlib.h>
#include <string.h>

#include <openssl/crypto.h>

int
srv_regs_init(struct srv_regs *t)
{
	memset(t, 0, sizeof(*t));
	t->nb = 1024;
	t->b = xcalloc(t->nb, sizeof(*t->b));
	return ad_random(t->key, sizeof(t->key));
}

void
srv_reg_free(struct srv_reg *r)
{
	if (!r)
		return;
	srv_reg_set_ext(r, NULL, NULL, 0);
	OPENSSL_cleanse(&r->hash, sizeof(r->hash));
	free(r);
}

void
srv_reg_set_ext(struct srv_reg *r, const char *bcrypt,
		const struct srv_cidr *allow, size_t n)
{
	struct srv_reg_ext *old = r->ext;
	r->ext = NULL;
	if (bcrypt || n) {
		r->ext = xcalloc(1, sizeof(*r->ext) + n * sizeof(*allow));
		r->ext->bcrypt = bcrypt ? xstrdup(bcrypt) : NULL;
		r->ext->nallow = (uint32_t)n;
		if (n)
			memcpy(r->ext->allow, allow, n * sizeof(*allow));
	}
	if (old) {
		if (old->bcrypt) {
			OPENSSL_cleanse(old->bcrypt, strlen(old->bcrypt));
			free(old->bcrypt);
		}
		free(old);
	}
}

void
srv_regs_free(struct srv_regs *t)
{
	for (size_t i = 0; i < t->nb; i++) {
		struct srv_reg *r = t->b[i];
		while (r) {
			struct srv_reg *next = r->next;
			srv_reg_free(r);
			r = next;
		}
	}
	free(t->b);
	memset(t, 0, sizeof(*t));
}

static size_t
bucket(const struct srv_regs *t, const uint8_t user[16])
{
	return (size_t)(ad_siphash(t->key, user, 16) & (t->nb - 1));
}

struct srv_reg *
srv_regs_find(const struct srv_regs *t, const uint8_t user[16])
{
	for (struct srv_reg *r = t->b[bucket(t, user)]; r; r = r->next)
		if (memcmp(r->user, user, 16) == 0)
			return r;
	return NULL;
}

static void
grow(struct srv_regs *t)
{
	size_t onb = t->nb;
	struct srv_reg **ob = t->b;
	t->nb = onb * 2;
	t->b = xcalloc(t->nb, sizeof(*t->b));
	for (size_t i = 0; i < onb; i++) {
		struct srv_reg *r = ob[i];
		while (r) {
			struct srv_reg *next = r->next;
			size_t k = bucket(t, r->user);
			r->next = t->b[k];
			t->b[k] = r;
			r = next;
		}
	}
	free(ob);
}

int
srv_regs_add(struct srv_regs *t, struct srv_reg *r)
{
	if (srv_regs_find(t, r->user))
		return AD_EEXIST;
	if (t->n >= t->nb)
		grow(t);
	size_t k = bucket(t, r->user);
	r->next = t->b[k];
	t->b[k] = r;
	t->n++;
	return 0;
}

struct srv_reg *
srv_regs_remove(struct srv_regs *t, const uint8_t user[16])
{
	struct srv_reg **pp = &t->b[bucket(t, user)];
	for (; *pp; pp = &(*pp)->next) {
		if (memcmp((*pp)->user, user, 16) == 0) {
			struct srv_reg *r = *pp;
			*pp = r->next;
			r->next = NULL;
			t->n--;
			return r;
		}
	}
	return NULL;
}
