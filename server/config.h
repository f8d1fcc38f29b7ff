/* SPDX-License-Identifier: MIT */
/*
 * Configuration: one descriptor table (config.c) drives INI parsing (inih),
 * defaults, range checks, ACMEDNS_<SECTION>_<KEY> environment overrides,
 * the check-config dump (secrets masked) and the documentation test.
 *
 * Errors are reported as "FILE:LINE: message" (LINE 0 when the problem is
 * not tied to a line, e.g. a missing required key or an environment value:
 * then "FILE: message" or "env ACMEDNS_X_Y: message").
 */
#ifndef SRV_CONFIG_H
#define SRV_CONFIG_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <sys/socket.h>

struct zone;
struct zone_rr;

/* A listen address "IP:PORT" or "[IPv6]:PORT". */
struct srv_addr {
	struct sockaddr_storage ss;
	socklen_t len;
	char text[64]; /* as written, normalised: "127.0.0.1:5353", "[::1]:53" */
};

/* A CIDR as Go's net.ParseCIDR accepts it (acme-dns compatible). */
struct srv_cidr {
	int family; /* AF_INET or AF_INET6 */
	uint8_t addr[16];
	uint8_t prefix;
	char text[64];
};

/* A string list item that remembers where it came from. */
struct srv_item {
	char *value;
	int line; /* line in the config file, 0 if from the environment */
};

struct srv_list {
	struct srv_item *v;
	size_t n;
};

enum srv_tls_mode { SRV_TLS_NONE = 0, SRV_TLS_FILE, SRV_TLS_ACME };

struct srv_config {
	char *path; /* the file this came from */

	/* [server] */
	char *user;	 /* drop to this user after binding; "" = no drop */
	char *group;	 /* "" = the user's primary group */
	char *log_level; /* error | warning | info | debug */

	/* [dns] */
	struct srv_addr *dns_listen;
	size_t n_dns_listen;
	uint32_t edns_size;	   /* 512..4096, default 1232 */
	uint32_t tcp_idle_timeout; /* seconds, default 10 */
	uint32_t tcp_max_clients;  /* default 1024 */
	uint32_t tcp_max_queries;  /* per connection, default 10000 */
	char *version;		   /* CH version.bind; "" = hidden */
	char *identity;		   /* CH id.server; "" = hidden */

	/* [zone] */
	char *domain;  /* as written, without a trailing dot */
	char *nsname;  /* absolute: always with a trailing dot */
	char *nsadmin; /* absolute: always with a trailing dot */
	struct srv_list records; /* zone-file syntax lines */
	char *zone_file;	 /* optional extra zone file ("" = none) */
	uint32_t default_ttl;	 /* for records without a TTL, default 3600 */
	uint32_t soa_ttl;	 /* default 3600 */
	uint32_t refresh, retry, expire; /* 3600, 600, 86400 */
	uint32_t minimum;	 /* SOA MINIMUM, default 300 */
	uint32_t txt_ttl;	 /* dynamic TXT TTL, default 1 */

	/* [api] */
	struct srv_addr *api_listen;
	size_t n_api_listen;
	enum srv_tls_mode tls;
	char *tls_cert; /* tls = file */
	char *tls_key;
	char *tls_domain; /* tls = acme: the API's name ("" = the apex) */
	uint32_t txt_slots;	   /* default 2 (acme-dns), 1..64 */
	uint32_t txt_max_age;	   /* seconds; 0 = values never expire */
	bool disable_registration; /* default false */
	struct srv_cidr *registration_allowfrom;
	size_t n_registration_allowfrom;
	char *registration_token; /* secret; "" = none */
	struct srv_list cors_origins;
	bool use_header;     /* acme-dns compatible proxy mode */
	char *header_name;   /* default X-Forwarded-For */
	struct srv_cidr *trusted_proxies;
	size_t n_trusted_proxies;

	/* [store] */
	char *store_path; /* default ./data/acmedns.db */

	/* [acme] */
	char *directory; /* "" = no ACME engine */
	char *ca_bundle;
	char *email;
	char *resolver; /* "" = system resolver */
	char *eab_kid;
	char *eab_hmac_key; /* secret */
	char *key_type;	    /* default ec256 */
	char *account_key_type; /* default ec256 */
	char *preferred_chain;
	char *profile;
	bool check_delegation;	     /* resolve the CNAMEs first (true) */
	uint32_t delegation_recheck; /* seconds between checks (60) */
	uint32_t key_max_age_days;   /* reuse a key up to this age (0) */
	uint32_t max_concurrent;     /* orders in flight at once (50) */

	/* [certs] */
	char *certs_dir; /* default ./data/certs */
	char *deploy_hook;
	uint32_t hook_timeout; /* seconds, default 60 */
};

/*
 * Load FILE: defaults, then the file, then environment overrides
 * (envp-style array, NULL-terminated; pass `environ`), then cross-key
 * checks. On error returns nonzero and writes one line (no newline) to
 * err. *out is allocated on success; free with srv_config_free.
 */
int srv_config_load(const char *file, char *const *envp,
		    struct srv_config **out, char *err, size_t errlen);
/*
 * The same from a buffer (borrowed; need not be NUL-terminated): name is
 * used in messages and as cfg->path. srv_config_load reads the file (at
 * most 1 MiB) and calls this. For tests and the fuzz harness.
 */
int srv_config_load_buf(const char *name, const char *buf, size_t len,
			char *const *envp, struct srv_config **out, char *err,
			size_t errlen);
void srv_config_free(struct srv_config *cfg);

/* Print the effective configuration as INI, secrets shown as "********":
 * every key of the table under its [section], preceded by a "# doc" line;
 * list keys one line per item, an empty list as "# key =". The output
 * loads again with srv_config_load (as long as no line exceeds the 199
 * character limit, which only values from the environment can cause). */
void srv_config_dump(const struct srv_config *cfg, FILE *f);

/* Iterate the descriptor table: for documentation tests. Returns false
 * past the end. */
bool srv_config_key(size_t i, const char **section, const char **key);

/* Parse "IP:PORT" / "[IPv6]:PORT", port 1..65535, no host names
 * (0, or AD_EINVAL which is negative). */
int srv_addr_parse(const char *s, struct srv_addr *out);
/* Parse a CIDR the way Go's net.ParseCIDR does: "1.2.3.0/24",
 * "2001:db8::/32"; a mask is required; no leading zeros in IPv4 octets;
 * surrounding brackets are NOT accepted here (callers strip them).
 * Host bits may be set ("1.2.3.4/24"): addr gets the masked network
 * (Go's IPNet.IP), text the input as written. 0 or AD_EINVAL. */
int srv_cidr_parse(const char *s, struct srv_cidr *out);
/* Does the address (AF_INET/AF_INET6 sockaddr) fall in the CIDR?
 * IPv4-mapped IPv6 addresses match IPv4 CIDRs. */
bool srv_cidr_match(const struct srv_cidr *c, const struct sockaddr *sa);

/*
 * Static records for the zone, built from cfg: an NS record for nsname at
 * the apex, every [zone] record line, and the records of [zone] file.
 * Parsed with ldns (zone-file syntax, origin = the zone, default TTL =
 * default_ttl). Class must be IN.
 */
struct srv_records {
	struct zone_rr *rrs;
	int *lines;   /* config line of each record (0: generated / env) */
	size_t n;
	void *storage; /* owned buffers */
	/* where each record came from, for messages: the config file, the
	 * [zone] file, "env ACMEDNS_ZONE_RECORD", or NULL for the generated
	 * apex NS. Points into storage. */
	const char **files;
};

/* 0, or nonzero with "FILE:LINE: message" in err. */
int srv_records_build(const struct srv_config *cfg, struct srv_records *out,
		      char *err, size_t errlen);
void srv_records_free(struct srv_records *r);

/*
 * Build the static records of cfg and install them with zone_set_static()
 * (all or nothing: on error z keeps its previous records). 0, or nonzero
 * with "FILE:LINE: record: why" in err. z is borrowed.
 */
int srv_zone_load_static(struct zone *z, const struct srv_config *cfg,
			 char *err, size_t errlen);

#endif
