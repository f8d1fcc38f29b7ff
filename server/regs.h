/* SPDX-License-Identifier: MIT */
/*
 * The in-memory table of acme-dns registrations, keyed by user name, so
 * that authenticating an /update touches neither SQLite nor the heap.
 * Compact on purpose (112 bytes per registration plus its bucket): the
 * daemon holds every registration in memory.
 *
 * Keys are 16-byte binary UUIDs; the bucket index is SipHash under a
 * random key (user names come from clients). Single-threaded (event loop).
 */
#ifndef SRV_REGS_H
#define SRV_REGS_H

#include "server/config.h"
#include "server/creds.h"

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

/* What few registrations have: an imported hash, an allowfrom list. */
struct srv_reg_ext {
	char *bcrypt;		/* imported acme-dns hash until upgraded */
	uint32_t nallow;
	struct srv_cidr allow[]; /* empty: any client */
};

struct srv_reg {
	struct srv_reg *next;	/* hash chain */
	uint8_t user[16];
	uint8_t sub[16];	/* the subdomain is a UUID */
	struct srv_hash hash;	/* valid unless ext->bcrypt is set */
	struct srv_reg_ext *ext; /* NULL for most registrations */
};

/* Allocate (or drop, when both are empty) r->ext with n CIDRs copied and
 * the bcrypt hash (copied, may be NULL). */
void srv_reg_set_ext(struct srv_reg *r, const char *bcrypt,
		     const struct srv_cidr *allow, size_t n);
/* The bcrypt hash or NULL; the allowfrom list and its length. */
static inline const char *
srv_reg_bcrypt(const struct srv_reg *r)
{
	return r->ext ? r->ext->bcrypt : NULL;
}
static inline uint32_t
srv_reg_nallow(const struct srv_reg *r)
{
	return r->ext ? r->ext->nallow : 0;
}

struct srv_regs {
	struct srv_reg **b;
	size_t nb, n;
	uint8_t key[16];
};

/* 0 or AD_ECRYPTO (random key). */
int srv_regs_init(struct srv_regs *t);
/* Frees every registration. */
void srv_regs_free(struct srv_regs *t);
/* Borrowed pointer or NULL. */
struct srv_reg *srv_regs_find(const struct srv_regs *t, const uint8_t user[16]);
/* Takes r (allocated with malloc). AD_EEXIST if the user exists (r is
 * not taken then). */
int srv_regs_add(struct srv_regs *t, struct srv_reg *r);
/* Unlinks and returns the registration (caller frees with srv_reg_free),
 * or NULL. */
struct srv_reg *srv_regs_remove(struct srv_regs *t, const uint8_t user[16]);
void srv_reg_free(struct srv_reg *r);

#endif
