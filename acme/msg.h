/* SPDX-License-Identifier: MIT */
/*
 * ACME messages (RFC 8555 §7.1, RFC 7807, RFC 9773): parsers for what the
 * CA sends (directory, account, order, authorization, challenge, problem
 * document, renewalInfo) and for the response headers the engine uses
 * (Link, Retry-After). Everything here reads untrusted bytes: lengths are
 * bounded, wrong types are errors (AD_EMALF), unknown members are ignored,
 * nothing is trusted to be NUL-terminated. Pure: cJSON and libc only; the
 * fuzz harness tests/fuzz/fuzz_acme.c drives every parser.
 *
 * Ownership: every parsed struct owns its strings (malloc'd); free it with
 * its *_free function, which also accepts a zeroed struct. On error the
 * struct is left zeroed (nothing to free).
 */
#ifndef ACME_MSG_H
#define ACME_MSG_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#define ACME_MSG_MAX_BODY (1u << 20) /* larger JSON bodies: AD_ELIMIT */
#define ACME_MSG_MAX_URL 2048	     /* longer URLs: AD_EMALF */
#define ACME_MSG_MAX_LIST 1000	     /* identifiers, authzs, subproblems */

/* ---- directory (§7.1.1) --------------------------------------------- */
struct acme_directory {
	char *new_nonce, *new_account, *new_order, *revoke_cert, *key_change;
	char *new_authz;    /* optional */
	char *renewal_info; /* RFC 9773, optional */
	/* meta */
	char *terms_of_service, *website;
	bool eab_required;
	/* draft-ietf-acme-profiles: names of meta.profiles (object keys) */
	char **profiles; /* NULL-terminated, NULL if none */
	size_t nprofiles;
};
/* new_nonce, new_account, new_order are required (AD_EMALF otherwise);
 * every URL must be https:// or http://. */
int acme_directory_parse(const char *body, size_t len,
			 struct acme_directory *out);
void acme_directory_free(struct acme_directory *d);
/* true if name is one of d->profiles */
bool acme_directory_has_profile(const struct acme_directory *d,
				const char *name);

/* ---- problem documents (RFC 7807, RFC 8555 §6.7) --------------------- */
struct acme_problem {
	char *type;   /* "urn:ietf:params:acme:error:badNonce", ... or NULL */
	char *detail; /* or NULL */
	int status;   /* "status" member, 0 if absent */
	/* subproblems (§6.7.1): "type: detail (identifier)" lines, or NULL */
	char **sub;
	size_t nsub;
};
int acme_problem_parse(const char *body, size_t len, struct acme_problem *out);
void acme_problem_free(struct acme_problem *p);
/* true if p->type is urn:ietf:params:acme:error:<name> (name e.g.
 * "badNonce", "rateLimited", "accountDoesNotExist"). */
bool acme_problem_is(const struct acme_problem *p, const char *name);
/*
 * One-line human summary: "<short type>: <detail> [<sub1>; <sub2>...]",
 * control characters replaced, at most cap-1 bytes (cut with "...").
 */
void acme_problem_summary(const struct acme_problem *p, char *out, size_t cap);

/* ---- account (§7.1.2) ------------------------------------------------- */
struct acme_account {
	char *status; /* "valid", "deactivated", "revoked" */
	char **contact;
	size_t ncontact;
	char *orders; /* URL or NULL */
};
int acme_account_parse(const char *body, size_t len, struct acme_account *out);
void acme_account_free(struct acme_account *a);

/* ---- identifiers, orders (§7.1.3) ---------------------------------- */
struct acme_ident {
	char *type; /* "dns" (others are kept but not handled) */
	char *value;
};

enum acme_status {
	ACME_ST_UNKNOWN = 0,
	ACME_ST_PENDING,
	ACME_ST_READY,
	ACME_ST_PROCESSING,
	ACME_ST_VALID,
	ACME_ST_INVALID,
	ACME_ST_DEACTIVATED,
	ACME_ST_EXPIRED,
	ACME_ST_REVOKED,
};
/* "pending" -> ACME_ST_PENDING ...; anything else ACME_ST_UNKNOWN */
enum acme_status acme_status_parse(const char *s);
const char *acme_status_name(enum acme_status s);

struct acme_order {
	enum acme_status status; /* required */
	int64_t expires;	 /* unix seconds, 0 if absent */
	struct acme_ident *idents;
	size_t nidents;
	char **authzs; /* URLs (required, may be empty) */
	size_t nauthzs;
	char *finalize;	   /* required */
	char *certificate; /* when valid */
	char *profile;	   /* or NULL */
	struct acme_problem error; /* zeroed if absent */
	bool has_error;
};
int acme_order_parse(const char *body, size_t len, struct acme_order *out);
void acme_order_free(struct acme_order *o);

/* ---- authorizations and challenges (§7.1.4, §7.1.5) ------------------ */
struct acme_challenge {
	char *type; /* "dns-01", ... */
	char *url;
	char *token; /* required for dns-01: base64url, at most 256 chars */
	enum acme_status status;
	int64_t validated;
	struct acme_problem error;
	bool has_error;
};
int acme_challenge_parse(const char *body, size_t len,
			 struct acme_challenge *out);
void acme_challenge_free(struct acme_challenge *c);

struct acme_authz {
	struct acme_ident ident;
	enum acme_status status;
	int64_t expires;
	bool wildcard;
	struct acme_challenge *challenges;
	size_t nchallenges;
};
int acme_authz_parse(const char *body, size_t len, struct acme_authz *out);
void acme_authz_free(struct acme_authz *a);
/* The dns-01 challenge of a, or NULL. */
const struct acme_challenge *acme_authz_dns01(const struct acme_authz *a);

/* ---- renewalInfo (RFC 9773 §4.2) ------------------------------------- */
struct acme_renewal_info {
	int64_t start, end; /* suggestedWindow, unix seconds; start <= end */
	char *explanation_url; /* or NULL */
};
int acme_renewal_info_parse(const char *body, size_t len,
			    struct acme_renewal_info *out);
void acme_renewal_info_free(struct acme_renewal_info *r);

/* ---- headers ----------------------------------------------------------- */
/*
 * RFC 3339 timestamp ("2026-12-01T10:00:00Z", fractional seconds and
 * numeric offsets accepted) -> unix seconds. 0 or AD_EMALF.
 */
int acme_time_parse(const char *s, size_t len, int64_t *out);

/*
 * Retry-After (RFC 9110 §10.2.3): delay-seconds or an IMF-fixdate.
 * now: unix seconds. *delay_s: seconds from now (0 if the date is past),
 * capped at 86400. 0 or AD_EMALF.
 */
int acme_retry_after_parse(const char *s, size_t len, int64_t now,
			   int64_t *delay_s);

/*
 * Find the targets of rel="<rel>" in one Link header value (RFC 8288:
 * several comma-separated links, quoted or bare rel, several rels per
 * link). Calls fn(arg, url, url_len) for each match, in order; stops when
 * fn returns nonzero. Returns the number of matches or AD_EMALF.
 */
int acme_link_each(const char *value, size_t len, const char *rel,
		   int (*fn)(void *arg, const char *url, size_t url_len),
		   void *arg);

#endif
