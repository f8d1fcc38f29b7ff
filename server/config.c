/* SPDX-License-Identifier: MIT */
/*
 * Configuration loading. Owns the one descriptor table (cfg_table[]) from
 * which everything about a key follows: its default, how its value is
 * parsed and range-checked, its ACMEDNS_<SECTION>_<KEY> environment
 * override, how check-config prints it, and the documentation test that
 * iterates it through srv_config_key(). The INI syntax itself is inih's;
 * this file feeds inih through its own line reader (line numbers, a clear
 * "line too long", '#' comments, quoted ';' and '#'). It must not touch
 * the process environment directly (envp is passed in) and never prints
 * secrets. Listen addresses and CIDRs (srv_addr_parse, srv_cidr_parse)
 * live here too because the table's list types are built from them.
 */
#include "server/config.h"

#include "common/errors.h"
#include "common/util.h"
#include "common/xalloc.h"
#include "dnswire/name.h"

#include <arpa/inet.h>
#include <ctype.h>
#include <errno.h>
#include <ini.h>
#include <netinet/in.h>
#include <stdarg.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

/* inih's compiled-in line buffer (Debian's libinih: 200, one for the NUL) */
#define CFG_LINE_MAX (INI_MAX_LINE - 1)
/* a configuration file is small; anything bigger is a mistake */
#define CFG_FILE_MAX (1024 * 1024)
/* stands in for ';' inside double quotes while inih looks at the line */
#define SEMI_MARK '\x01'
#define ENV_PREFIX "ACMEDNS_"

enum cfg_type {
	CT_STR,    /* char * */
	CT_UINT,   /* uint32_t, min..max */
	CT_BOOL,   /* bool */
	CT_ENUM,   /* int (an enum), index into choices */
	CT_CHOICE, /* char *, one of choices */
	CT_ADDRS,  /* struct srv_addr * + size_t count (list) */
	CT_CIDRS,  /* struct srv_cidr * + size_t count (list) */
	CT_STRS,   /* struct srv_list (list) */
};

#define F_SECRET 0x01   /* dumped as ******** */
#define F_LIST 0x02     /* may repeat; items accumulate */
#define F_REQUIRED 0x04 /* must be non-empty after loading */
#define F_ZONE 0x08     /* zone-file syntax: quoted ';' becomes \059 */

typedef int (*cfg_check_fn)(char **value, char *why, size_t whylen);

struct cfg_desc {
	const char *section;
	const char *key;
	enum cfg_type type;
	size_t off;   /* field in struct srv_config */
	size_t off_n; /* CT_ADDRS/CT_CIDRS: the count field */
	uint32_t min, max;
	const char *const *choices; /* CT_ENUM/CT_CHOICE, NULL-terminated */
	const char *def;            /* default, as text (NULL: empty) */
	unsigned flags;
	cfg_check_fn check; /* extra validation/normalisation, may be NULL */
	const char *doc;
};

static int check_domain(char **v, char *why, size_t n);
static int check_fqdn(char **v, char *why, size_t n);
static int check_txt(char **v, char *why, size_t n);
static int check_token(char **v, char *why, size_t n);
static int check_resolver(char **v, char *why, size_t n);
static int check_url(char **v, char *why, size_t n);

static const char *const log_levels[] = {"error", "warning", "info", "debug",
					 NULL};
/* order matches enum srv_tls_mode */
static const char *const tls_modes[] = {"none", "file", "acme", NULL};
static const char *const key_types[] = {"ec256",   "ec384",   "rsa2048",
					"rsa3072", "rsa4096", NULL};
static const char *const account_key_types[] = {"ec256", "ec384", "rsa2048",
						"rsa4096", NULL};

#define OFF(field) offsetof(struct srv_config, field)
#define STR(sec, key, field, def, flags, check, doc)                           \
	{                                                                      \
		sec, key, CT_STR, OFF(field), 0, 0, 0, NULL, def, flags,       \
		    check, doc                                                 \
	}
#define UINT(sec, key, field, def, lo, hi, doc)                                \
	{                                                                      \
		sec, key, CT_UINT, OFF(field), 0, lo, hi, NULL, def, 0, NULL,  \
		    doc                                                        \
	}
#define BOOL(sec, key, field, def, doc)                                        \
	{                                                                      \
		sec, key, CT_BOOL, OFF(field), 0, 0, 0, NULL, def, 0, NULL,    \
		    doc                                                        \
	}
#define ENUM(sec, key, field, choices, def, doc)                               \
	{                                                                      \
		sec, key, CT_ENUM, OFF(field), 0, 0, 0, choices, def, 0, NULL, \
		    doc                                                        \
	}
#define CHOICE(sec, key, field, choices, def, doc)                             \
	{                                                                      \
		sec, key, CT_CHOICE, OFF(field), 0, 0, 0, choices, def, 0,     \
		    NULL, doc                                                  \
	}
#define ADDRS(sec, key, field, def, doc)                                       \
	{                                                                      \
		sec, key, CT_ADDRS, OFF(field), OFF(n_##field), 0, 0, NULL,    \
		    def, F_LIST, NULL, doc                                     \
	}
#define CIDRS(sec, key, field, doc)                                            \
	{                                                                      \
		sec, key, CT_CIDRS, OFF(field), OFF(n_##field), 0, 0, NULL,    \
		    NULL, F_LIST, NULL, doc                                    \
	}
#define STRS(sec, key, field, flags, doc)                                      \
	{                                                                      \
		sec, key, CT_STRS, OFF(field), 0, 0, 0, NULL, NULL,            \
		    F_LIST | flags, NULL, doc                                  \
	}

#define TTL_MAX 2147483647u /* RFC 2181 §8 */

/*
 * THE table. Order is the order of the dump and of srv_config_key(); keys
 * of one section stay together.
 */
static const struct cfg_desc cfg_table[] = {
    STR("server", "user", user, NULL, 0, NULL,
	"drop to this user after binding sockets (empty: stay)"),
    STR("server", "group", group, NULL, 0, NULL,
	"drop to this group (empty: the user's primary group)"),
    CHOICE("server", "log_level", log_level, log_levels, "info",
	   "error | warning | info | debug"),

    ADDRS("dns", "listen", dns_listen, "127.0.0.1:5353",
	  "IP:PORT or [IPv6]:PORT, UDP and TCP (list)"),
    UINT("dns", "edns_size", edns_size, "1232", 512, 4096,
	 "EDNS0 UDP payload size we advertise"),
    UINT("dns", "tcp_idle_timeout", tcp_idle_timeout, "10", 1, 300,
	 "seconds before an idle TCP connection is closed"),
    UINT("dns", "tcp_max_clients", tcp_max_clients, "1024", 1, 65535,
	 "concurrent TCP connections"),
    UINT("dns", "tcp_max_queries", tcp_max_queries, "10000", 1, UINT32_MAX,
	 "queries per TCP connection"),
    STR("dns", "version", version, NULL, 0, check_txt,
	"CH TXT version.bind answer (empty: hidden)"),
    STR("dns", "identity", identity, NULL, 0, check_txt,
	"CH TXT id.server answer (empty: hidden)"),

    STR("zone", "domain", domain, NULL, F_REQUIRED, check_domain,
	"the zone acmedns is authoritative for"),
    STR("zone", "nsname", nsname, NULL, F_REQUIRED, check_fqdn,
	"name server name (SOA MNAME and the apex NS)"),
    STR("zone", "nsadmin", nsadmin, NULL, F_REQUIRED, check_fqdn,
	"SOA RNAME, the zone contact as a name"),
    STRS("zone", "record", records, F_ZONE,
	 "a static record in zone-file syntax (list)"),
    STR("zone", "file", zone_file, NULL, 0, NULL,
	"extra zone file with static records (its SOA is ignored)"),
    UINT("zone", "default_ttl", default_ttl, "3600", 0, TTL_MAX,
	 "TTL of records written without one"),
    UINT("zone", "soa_ttl", soa_ttl, "3600", 0, TTL_MAX, "TTL of the SOA"),
    UINT("zone", "refresh", refresh, "3600", 0, TTL_MAX, "SOA REFRESH"),
    UINT("zone", "retry", retry, "600", 0, TTL_MAX, "SOA RETRY"),
    UINT("zone", "expire", expire, "86400", 0, TTL_MAX, "SOA EXPIRE"),
    UINT("zone", "minimum", minimum, "300", 0, 86400,
	 "SOA MINIMUM: negative-caching TTL (RFC 2308)"),
    UINT("zone", "txt_ttl", txt_ttl, "1", 0, 86400,
	 "TTL of challenge TXT answers"),

    ADDRS("api", "listen", api_listen, "127.0.0.1:8053",
	  "REST API IP:PORT or [IPv6]:PORT (list)"),
    ENUM("api", "tls", tls, tls_modes, "none",
	 "none | file | acme (certificate from the ACME engine)"),
    STR("api", "tls_cert", tls_cert, NULL, 0, NULL,
	"certificate chain PEM for tls = file"),
    STR("api", "tls_key", tls_key, NULL, 0, NULL,
	"private key PEM for tls = file"),
    STR("api", "tls_domain", tls_domain, NULL, 0, check_domain,
	"tls = acme: the API's name, at or under the zone (empty: the apex)"),
    UINT("api", "txt_slots", txt_slots, "2", 1, 64,
	 "TXT values kept per registration (acme-dns: 2)"),
    UINT("api", "txt_max_age", txt_max_age, "0", 0, UINT32_MAX,
	 "seconds a TXT value is served (0: until replaced)"),
    BOOL("api", "disable_registration", disable_registration, "false",
	 "refuse POST /register"),
    CIDRS("api", "registration_allowfrom", registration_allowfrom,
	  "CIDRs allowed to POST /register (list; empty: any)"),
    STR("api", "registration_token", registration_token, NULL, F_SECRET, NULL,
	"if set, /register needs this bearer token"),
    STRS("api", "cors_origins", cors_origins, 0, "allowed CORS origins (list)"),
    BOOL("api", "use_header", use_header, "false",
	 "take the client IP from header_name (behind a proxy)"),
    STR("api", "header_name", header_name, "X-Forwarded-For", 0, check_token,
	"header holding the client IP"),
    CIDRS("api", "trusted_proxies", trusted_proxies,
	  "proxies whose header_name is believed (list; empty: any)"),

    STR("store", "path", store_path, "./data/acmedns.db", 0, NULL,
	"SQLite database file"),

    STR("acme", "directory", directory, NULL, 0, check_url,
	"ACME directory URL (empty: no ACME engine)"),
    STR("acme", "ca_bundle", ca_bundle, NULL, 0, NULL,
	"extra CA certificates (PEM) trusted for the directory"),
    STR("acme", "email", email, NULL, 0, NULL, "ACME account contact"),
    STR("acme", "resolver", resolver, NULL, 0, check_resolver,
	"IP[:PORT] for delegation checks (empty: system resolver)"),
    STR("acme", "eab_kid", eab_kid, NULL, 0, NULL,
	"external account binding key id"),
    STR("acme", "eab_hmac_key", eab_hmac_key, NULL, F_SECRET, NULL,
	"external account binding HMAC key (base64url)"),
    CHOICE("acme", "key_type", key_type, key_types, "ec256",
	   "certificate key: ec256 | ec384 | rsa2048 | rsa3072 | rsa4096"),
    CHOICE("acme", "account_key_type", account_key_type, account_key_types,
	   "ec256", "account key: ec256 | ec384 | rsa2048 | rsa4096"),
    STR("acme", "preferred_chain", preferred_chain, NULL, 0, NULL,
	"issuer CN of the preferred alternate chain"),
    STR("acme", "profile", profile, NULL, 0, NULL,
	"ACME certificate profile name (empty: CA default)"),
    BOOL("acme", "check_delegation", check_delegation, "true",
	 "wait until the _acme-challenge CNAMEs resolve before ordering"),
    UINT("acme", "delegation_recheck", delegation_recheck, "60", 5, 86400,
	 "seconds between delegation checks of a waiting domain"),
    UINT("acme", "key_max_age_days", key_max_age_days, "0", 0, 3650,
	 "reuse a certificate key across renewals up to this age (0: never)"),
    UINT("acme", "max_concurrent", max_concurrent, "50", 1, 10000,
	 "orders in flight at once"),

    STR("certs", "dir", certs_dir, "./data/certs", 0, NULL,
	"where certificate files are written"),
    STR("certs", "deploy_hook", deploy_hook, NULL, 0, NULL,
	"command run after a certificate is written"),
    UINT("certs", "hook_timeout", hook_timeout, "60", 1, 3600,
	 "seconds before the deploy hook is killed"),
};

#define NKEYS AD_ARRAY_SIZE(cfg_table)

/* ------------------------------------------------------------------ */
/* field access */

static void *
field(const struct srv_config *cfg, size_t off)
{
	return (char *)cfg + off;
}

static char **
str_field(const struct srv_config *cfg, const struct cfg_desc *d)
{
	return field(cfg, d->off);
}

static void
list_clear(struct srv_config *cfg, const struct cfg_desc *d)
{
	switch (d->type) {
	case CT_ADDRS:
	case CT_CIDRS: {
		void **p = field(cfg, d->off);
		free(*p);
		*p = NULL;
		*(size_t *)field(cfg, d->off_n) = 0;
		break;
	}
	case CT_STRS: {
		struct srv_list *l = field(cfg, d->off);
		for (size_t i = 0; i < l->n; i++)
			free(l->v[i].value);
		free(l->v);
		l->v = NULL;
		l->n = 0;
		break;
	}
	default:
		break;
	}
}

/* ------------------------------------------------------------------ */
/* value checks for CT_STR keys */

/* A domain name in presentation format, absolute, not the root. */
static int
name_ok(const char *v, char *why, size_t n)
{
	uint8_t wire[DW_NAME_MAX];
	size_t len;

	if (!*v)
		return 0; /* empty: the REQUIRED check reports it */
	/* host-name characters; '\\' for an escaped dot in a mailbox */
	for (const char *c = v; *c; c++) {
		if (!isalnum((unsigned char)*c) && !strchr("-_.\\", *c)) {
			snprintf(why, n, "not a valid domain name");
			return AD_EINVAL;
		}
	}
	if (strcmp(v, ".") == 0 || dw_name_from_str(v, NULL, wire, &len) != 0 ||
	    len <= 1) {
		snprintf(why, n, "not a valid domain name");
		return AD_EINVAL;
	}
	return 0;
}

/* Does the name end in an unescaped '.' ("a." yes, "a\\." no, "a\\\\." yes)? */
static bool
ends_in_dot(const char *v, size_t l)
{
	size_t bs = 0;

	if (l == 0 || v[l - 1] != '.')
		return false;
	while (bs + 1 < l && v[l - 2 - bs] == '\\')
		bs++;
	return bs % 2 == 0;
}

/* [zone] domain: kept without a trailing dot, so "<sub>.<domain>" joins. */
static int
check_domain(char **v, char *why, size_t n)
{
	size_t l = strlen(*v);
	int r = name_ok(*v, why, n);

	if (r == 0 && ends_in_dot(*v, l))
		(*v)[l - 1] = '\0';
	return r;
}

/* nsname/nsadmin: kept absolute (trailing dot), because zone_params
 * takes names without one as relative to the apex. */
static int
check_fqdn(char **v, char *why, size_t n)
{
	size_t l = strlen(*v);
	int r = name_ok(*v, why, n);

	if (r == 0 && l > 0 && !ends_in_dot(*v, l)) {
		char *s = xmalloc(l + 2);
		memcpy(s, *v, l);
		s[l] = '.';
		s[l + 1] = '\0';
		free(*v);
		*v = s;
	}
	return r;
}

/* one TXT character-string (RFC 1035 §3.3): at most 255 bytes */
static int
check_txt(char **v, char *why, size_t n)
{
	if (strlen(*v) > 255) {
		snprintf(why, n, "longer than 255 bytes");
		return AD_ERANGE;
	}
	return 0;
}

/* an HTTP field name (RFC 9110 §5.1: a token) */
static int
check_token(char **v, char *why, size_t n)
{
	const char *s = *v;

	if (!*s) {
		snprintf(why, n, "must not be empty");
		return AD_EINVAL;
	}
	for (; *s; s++) {
		if (!isalnum((unsigned char)*s) &&
		    !strchr("!#$%&'*+-.^_`|~", *s)) {
			snprintf(why, n, "not a valid HTTP header name");
			return AD_EINVAL;
		}
	}
	return 0;
}

static int parse_ipv4(const char *s, size_t len, uint8_t out[4]);

/* "", an IP address, or IP:PORT / [IPv6]:PORT */
static int
check_resolver(char **v, char *why, size_t n)
{
	struct srv_addr a;
	uint8_t b[16];
	const char *s = *v;

	if (!*s || srv_addr_parse(s, &a) == 0 ||
	    parse_ipv4(s, strlen(s), b) == 0 || inet_pton(AF_INET6, s, b) == 1)
		return 0;
	snprintf(why, n, "expected IP, IP:PORT or [IPv6]:PORT");
	return AD_EINVAL;
}

static int
check_url(char **v, char *why, size_t n)
{
	if (!**v || strncmp(*v, "https://", 8) == 0 ||
	    strncmp(*v, "http://", 7) == 0)
		return 0;
	snprintf(why, n, "expected an https:// URL");
	return AD_EINVAL;
}

/* ------------------------------------------------------------------ */
/* addresses and CIDRs */

/*
 * Dotted quad the way Go's netip.ParseAddr reads it: exactly four decimal
 * octets of 1-3 digits, no leading zeros, each <= 255.
 */
static int
parse_ipv4(const char *s, size_t len, uint8_t out[4])
{
	size_t i = 0;

	for (int oct = 0; oct < 4; oct++) {
		unsigned v = 0, digits = 0;

		if (oct > 0) {
			if (i >= len || s[i] != '.')
				return AD_EINVAL;
			i++;
		}
		while (i < len && s[i] >= '0' && s[i] <= '9') {
			if (digits == 1 && v == 0)
				return AD_EINVAL; /* leading zero */
			v = v * 10 + (unsigned)(s[i] - '0');
			if (++digits > 3 || v > 255)
				return AD_EINVAL;
			i++;
		}
		if (digits == 0)
			return AD_EINVAL;
		out[oct] = (uint8_t)v;
	}
	return i == len ? 0 : AD_EINVAL;
}

/* IPv6 text (no brackets, no zone), possibly with an embedded IPv4 tail */
static int
parse_ipv6(const char *s, size_t len, uint8_t out[16])
{
	char buf[INET6_ADDRSTRLEN + 1];
	const char *dot;

	if (len == 0 || len >= sizeof(buf))
		return AD_EINVAL;
	for (size_t i = 0; i < len; i++)
		if (!isxdigit((unsigned char)s[i]) && s[i] != ':' &&
		    s[i] != '.')
			return AD_EINVAL;
	memcpy(buf, s, len);
	buf[len] = '\0';
	/* glibc is lenient in places Go is not: check the IPv4 tail ourselves
	 */
	if ((dot = strchr(buf, '.'))) {
		const char *tail = strrchr(buf, ':');
		uint8_t v4[4];
		if (!tail || tail > dot ||
		    parse_ipv4(tail + 1, strlen(tail + 1), v4) != 0)
			return AD_EINVAL;
	}
	return inet_pton(AF_INET6, buf, out) == 1 ? 0 : AD_EINVAL;
}

int
srv_addr_parse(const char *s, struct srv_addr *out)
{
	const char *colon, *host;
	size_t hlen;
	unsigned long port = 0;
	uint8_t ip[16];
	char text[INET6_ADDRSTRLEN];
	bool v6;

	memset(out, 0, sizeof(*out));
	if (s[0] == '[') {
		const char *rb = strchr(s, ']');
		if (!rb || rb[1] != ':')
			return AD_EINVAL;
		host = s + 1;
		hlen = (size_t)(rb - host);
		colon = rb + 1;
		v6 = true;
	} else {
		colon = strrchr(s, ':');
		if (!colon)
			return AD_EINVAL;
		host = s;
		hlen = (size_t)(colon - s);
		v6 = false;
	}
	const char *p = colon + 1;
	if (!*p || strlen(p) > 5)
		return AD_EINVAL;
	for (; *p; p++) {
		if (*p < '0' || *p > '9')
			return AD_EINVAL;
		port = port * 10 + (unsigned long)(*p - '0');
	}
	if (port < 1 || port > 65535)
		return AD_EINVAL;

	if (v6) {
		struct sockaddr_in6 *sin6 = (struct sockaddr_in6 *)&out->ss;
		if (parse_ipv6(host, hlen, ip) != 0)
			return AD_EINVAL;
		sin6->sin6_family = AF_INET6;
		sin6->sin6_port = htons((uint16_t)port);
		memcpy(&sin6->sin6_addr, ip, 16);
		out->len = sizeof(*sin6);
		inet_ntop(AF_INET6, ip, text, sizeof(text));
		snprintf(out->text, sizeof(out->text), "[%s]:%lu", text, port);
	} else {
		struct sockaddr_in *sin = (struct sockaddr_in *)&out->ss;
		if (parse_ipv4(host, hlen, ip) != 0)
			return AD_EINVAL;
		sin->sin_family = AF_INET;
		sin->sin_port = htons((uint16_t)port);
		memcpy(&sin->sin_addr, ip, 4);
		out->len = sizeof(*sin);
		inet_ntop(AF_INET, ip, text, sizeof(text));
		snprintf(out->text, sizeof(out->text), "%s:%lu", text, port);
	}
	return 0;
}

static void
mask_bits(uint8_t *a, size_t alen, unsigned prefix)
{
	for (size_t i = 0; i < alen; i++) {
		unsigned keep = prefix >= 8 * (i + 1) ? 8
				: prefix > 8 * i      ? prefix - 8 * (unsigned)i
						      : 0;
		a[i] &= (uint8_t)(0xff00u >> keep);
	}
}

/*
 * Go's net.ParseCIDR: "ADDR/BITS", ADDR an IPv4 dotted quad or IPv6 text
 * (no zone), BITS decimal digits (leading zeros allowed, as Go's dtoi)
 * not above the address length. Host bits may be set; addr holds the
 * masked network (as Go's IPNet.IP), text the input as written.
 */
int
srv_cidr_parse(const char *s, struct srv_cidr *out)
{
	const char *slash = strchr(s, '/');
	size_t alen;
	unsigned bits, prefix = 0;
	const char *m;

	memset(out, 0, sizeof(*out));
	if (!slash || strlen(s) >= sizeof(out->text))
		return AD_EINVAL;
	alen = (size_t)(slash - s);
	if (parse_ipv4(s, alen, out->addr) == 0) {
		out->family = AF_INET;
		bits = 32;
	} else if (parse_ipv6(s, alen, out->addr) == 0) {
		out->family = AF_INET6;
		bits = 128;
	} else {
		return AD_EINVAL;
	}
	m = slash + 1;
	if (!*m)
		return AD_EINVAL;
	for (; *m; m++) {
		if (*m < '0' || *m > '9')
			return AD_EINVAL;
		prefix = prefix * 10 + (unsigned)(*m - '0');
		if (prefix > bits)
			return AD_EINVAL;
	}
	out->prefix = (uint8_t)prefix;
	mask_bits(out->addr, bits / 8, prefix);
	memcpy(out->text, s, strlen(s) + 1);
	return 0;
}

static const uint8_t v4mapped_prefix[12] = {0, 0, 0, 0, 0,    0,
					    0, 0, 0, 0, 0xff, 0xff};

static bool
prefix_equal(const uint8_t *a, const uint8_t *b, unsigned prefix)
{
	unsigned full = prefix / 8, rest = prefix % 8;

	if (memcmp(a, b, full) != 0)
		return false;
	if (rest == 0)
		return true;
	uint8_t mask = (uint8_t)(0xff00u >> rest);
	return (a[full] & mask) == (b[full] & mask);
}

/*
 * Go's IPNet.Contains: both the address and the network are reduced to
 * 4 bytes when they are IPv4 or IPv4-mapped IPv6, then compared only if
 * their lengths agree. So ::ffff:1.2.3.4 falls in 1.2.3.0/24, and
 * ::ffff:1.2.3.0/120 is the same network as 1.2.3.0/24.
 */
bool
srv_cidr_match(const struct srv_cidr *c, const struct sockaddr *sa)
{
	const uint8_t *ip, *net = c->addr;
	size_t iplen, netlen;
	unsigned prefix = c->prefix;

	if (sa->sa_family == AF_INET) {
		ip = (const uint8_t *)&((const struct sockaddr_in *)sa)
			 ->sin_addr;
		iplen = 4;
	} else if (sa->sa_family == AF_INET6) {
		ip = ((const struct sockaddr_in6 *)sa)->sin6_addr.s6_addr;
		iplen = 16;
		if (memcmp(ip, v4mapped_prefix, 12) == 0) {
			ip += 12;
			iplen = 4;
		}
	} else {
		return false;
	}
	if (c->family == AF_INET) {
		netlen = 4;
	} else if (c->family == AF_INET6) {
		netlen = 16;
		if (prefix >= 96 && memcmp(net, v4mapped_prefix, 12) == 0) {
			net += 12;
			netlen = 4;
			prefix -= 96;
		}
	} else {
		return false;
	}
	return iplen == netlen && prefix_equal(ip, net, prefix);
}

/* ------------------------------------------------------------------ */
/* setting values */

static bool
is_list_sep(char c, bool any_space)
{
	return c == '\n' ||
	       (any_space && (c == ',' || c == ' ' || c == '\t' || c == '\r'));
}

/*
 * Append one list item. Address and CIDR lists accept several items per
 * value (split on commas and whitespace): "listen = 127.0.0.1:53, [::1]:53".
 */
static int
list_add(struct srv_config *cfg, const struct cfg_desc *d, const char *v,
	 int line, char *why, size_t n)
{
	if (d->type == CT_STRS) {
		struct srv_list *l = field(cfg, d->off);
		l->v = xreallocarray(l->v, l->n + 1, sizeof(*l->v));
		l->v[l->n].value = xstrdup(v);
		l->v[l->n].line = line;
		l->n++;
		return 0;
	}

	size_t *cnt = field(cfg, d->off_n);
	if (d->type == CT_ADDRS) {
		struct srv_addr a, **arr = field(cfg, d->off);
		if (srv_addr_parse(v, &a) != 0) {
			snprintf(why, n,
				 "'%.80s' is not IP:PORT or [IPv6]:PORT "
				 "(port 1..65535)",
				 v);
			return AD_EINVAL;
		}
		*arr = xreallocarray(*arr, *cnt + 1, sizeof(**arr));
		(*arr)[(*cnt)++] = a;
	} else {
		struct srv_cidr c, **arr = field(cfg, d->off);
		if (srv_cidr_parse(v, &c) != 0) {
			snprintf(why, n,
				 "'%.80s' is not a CIDR (e.g. 192.0.2.0/24, "
				 "2001:db8::/32)",
				 v);
			return AD_EINVAL;
		}
		*arr = xreallocarray(*arr, *cnt + 1, sizeof(**arr));
		(*arr)[(*cnt)++] = c;
	}
	return 0;
}

static int
list_add_split(struct srv_config *cfg, const struct cfg_desc *d, const char *v,
	       int line, char *why, size_t n)
{
	bool any = d->type != CT_STRS;

	while (*v) {
		while (*v && is_list_sep(*v, any))
			v++;
		size_t l = 0;
		while (v[l] && !is_list_sep(v[l], any))
			l++;
		if (l == 0)
			break;
		char *item = xstrndup(v, l);
		/* trim what a newline-separated item may carry */
		char *s = item, *e = item + l;
		while (*s == ' ' || *s == '\t' || *s == '\r')
			s++;
		while (e > s &&
		       (e[-1] == ' ' || e[-1] == '\t' || e[-1] == '\r'))
			*--e = '\0';
		int r = *s ? list_add(cfg, d, s, line, why, n) : 0;
		free(item);
		if (r != 0)
			return r;
		v += l;
	}
	return 0;
}

static int
parse_uint(const char *v, uint32_t *out)
{
	uint64_t x = 0;

	if (!*v)
		return AD_EINVAL;
	for (; *v; v++) {
		if (*v < '0' || *v > '9')
			return AD_EINVAL;
		x = x * 10 + (uint64_t)(*v - '0');
		if (x > UINT32_MAX)
			return AD_ERANGE;
	}
	*out = (uint32_t)x;
	return 0;
}

static int
choice_index(const char *const *choices, const char *v)
{
	for (int i = 0; choices[i]; i++)
		if (strcasecmp(choices[i], v) == 0)
			return i;
	return -1;
}

static void
choices_text(const char *const *choices, char *buf, size_t n)
{
	size_t used = 0;

	buf[0] = '\0';
	for (size_t i = 0; choices[i] && used < n; i++)
		used += (size_t)snprintf(buf + used, n - used, "%s%s",
					 i ? " | " : "", choices[i]);
}

/*
 * Set a scalar key, or add to a list key. why gets the reason on error
 * (never the value of a secret).
 */
static int
set_value(struct srv_config *cfg, const struct cfg_desc *d, const char *v,
	  int line, char *why, size_t n)
{
	char buf[128];
	uint32_t u;
	int i, r;

	for (const char *c = v; *c; c++) {
		unsigned char ch = (unsigned char)*c;
		/* newlines separate the items of a list from the environment */
		if (ch == '\t' ||
		    (d->flags & F_LIST && (ch == '\n' || ch == '\r')))
			continue;
		if (ch < 0x20 || ch == 0x7f) {
			snprintf(why, n, "control character 0x%02x in value",
				 ch);
			return AD_EINVAL;
		}
	}
	switch (d->type) {
	case CT_STR: {
		/* one pair of double quotes around a value is syntax, not
		 * data: version = "acmedns" serves acmedns */
		size_t vl = strlen(v);
		char *s = vl >= 2 && v[0] == '"' && v[vl - 1] == '"'
				  ? xstrndup(v + 1, vl - 2)
				  : xstrdup(v);
		if (d->check && (r = d->check(&s, why, n)) != 0) {
			free(s);
			return r;
		}
		free(*str_field(cfg, d));
		*str_field(cfg, d) = s;
		return 0;
	}
	case CT_UINT:
		r = parse_uint(v, &u);
		if (r == AD_EINVAL) {
			snprintf(why, n, "'%.40s' is not a number (%u..%u)", v,
				 d->min, d->max);
			return r;
		}
		if (r != 0 || u < d->min || u > d->max) {
			snprintf(why, n, "'%.40s' is out of range (%u..%u)", v,
				 d->min, d->max);
			return AD_ERANGE;
		}
		*(uint32_t *)field(cfg, d->off) = u;
		return 0;
	case CT_BOOL:
		if (!strcasecmp(v, "true") || !strcasecmp(v, "yes") ||
		    !strcasecmp(v, "on") || !strcmp(v, "1")) {
			*(bool *)field(cfg, d->off) = true;
		} else if (!strcasecmp(v, "false") || !strcasecmp(v, "no") ||
			   !strcasecmp(v, "off") || !strcmp(v, "0")) {
			*(bool *)field(cfg, d->off) = false;
		} else {
			snprintf(why, n,
				 "'%.40s' is not a boolean (true | false)", v);
			return AD_EINVAL;
		}
		return 0;
	case CT_ENUM:
	case CT_CHOICE:
		if ((i = choice_index(d->choices, v)) < 0) {
			choices_text(d->choices, buf, sizeof(buf));
			snprintf(why, n, "'%.40s' is not one of %s", v, buf);
			return AD_EINVAL;
		}
		if (d->type == CT_ENUM) {
			*(int *)field(cfg, d->off) = i;
		} else {
			free(*str_field(cfg, d));
			*str_field(cfg, d) = xstrdup(d->choices[i]);
		}
		return 0;
	case CT_ADDRS:
	case CT_CIDRS:
	case CT_STRS:
		return list_add_split(cfg, d, v, line, why, n);
	}
	return AD_EINVAL;
}

static void
set_defaults(struct srv_config *cfg)
{
	char why[256];

	for (size_t i = 0; i < NKEYS; i++) {
		const struct cfg_desc *d = &cfg_table[i];
		if (d->type == CT_STR || d->type == CT_CHOICE)
			*str_field(cfg, d) = xstrdup("");
		if (d->def)
			(void)set_value(cfg, d, d->def, 0, why, sizeof(why));
	}
}

void
srv_config_free(struct srv_config *cfg)
{
	if (!cfg)
		return;
	for (size_t i = 0; i < NKEYS; i++) {
		const struct cfg_desc *d = &cfg_table[i];
		if (d->type == CT_STR || d->type == CT_CHOICE)
			free(*str_field(cfg, d));
		else if (d->flags & F_LIST)
			list_clear(cfg, d);
	}
	free(cfg->path);
	free(cfg);
}

/* ------------------------------------------------------------------ */
/* the loader: reader for inih, handler, environment */

struct loader {
	struct srv_config *cfg;
	const char *name; /* file name for messages */
	const char *buf;  /* whole file */
	size_t len, pos;
	int line;        /* current line (the one inih is looking at) */
	int seen[NKEYS]; /* line where the file first set each key */
	char *err;
	size_t errlen;
	bool failed;
};

static void fail(struct loader *L, int line, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));

static void
fail(struct loader *L, int line, const char *fmt, ...)
{
	char msg[512];
	va_list ap;

	if (L->failed)
		return; /* the first error is the one that matters */
	L->failed = true;
	va_start(ap, fmt);
	vsnprintf(msg, sizeof(msg), fmt, ap);
	va_end(ap);
	if (line > 0)
		snprintf(L->err, L->errlen, "%s:%d: %s", L->name, line, msg);
	else
		snprintf(L->err, L->errlen, "%s: %s", L->name, msg);
}

static const struct cfg_desc *
find_key(const char *section, const char *key)
{
	for (size_t i = 0; i < NKEYS; i++)
		if (!strcasecmp(cfg_table[i].section, section) &&
		    !strcasecmp(cfg_table[i].key, key))
			return &cfg_table[i];
	return NULL;
}

/* sections are the ones the table names */
static bool
known_section(const char *s, size_t len)
{
	for (size_t i = 0; i < NKEYS; i++)
		if (strlen(cfg_table[i].section) == len &&
		    !strncasecmp(cfg_table[i].section, s, len))
			return true;
	return false;
}

/*
 * Rewrite ';' inside double quotes as the zone-file escape \059, so the
 * record text survives inih's ';' comments and the dump round-trips.
 * marker: the character that stands for such a ';' in s (';' itself for
 * environment values, SEMI_MARK for file lines).
 */
static char *
zone_escape(const char *s, char marker)
{
	size_t n = 0;
	bool q = false;

	for (const char *p = s; *p; p++)
		n += (*p == marker) ? 4 : 1;
	char *out = xmalloc(n + 1), *o = out;
	for (const char *p = s; *p; p++) {
		if (*p == '\\' && p[1]) {
			*o++ = *p++;
			*o++ = *p;
			continue;
		}
		if (*p == '"')
			q = !q;
		if (*p == marker && (q || marker == SEMI_MARK)) {
			memcpy(o, "\\059", 4);
			o += 4;
		} else {
			*o++ = *p;
		}
	}
	*o = '\0';
	return out;
}

/*
 * inih's "find_chars_or_comment": does the line have '=' or ':' before an
 * inline ';' comment? Mirrors inih so our syntax error is the same one.
 */
static bool
has_assignment(const char *s)
{
	bool was_space = false;

	for (; *s; s++) {
		if (*s == '=' || *s == ':')
			return true;
		if (was_space && *s == ';')
			return false;
		was_space = isspace((unsigned char)*s);
	}
	return false;
}

/*
 * The ini_reader: one line per call, like fgets, but (1) a line longer
 * than inih's buffer is an error instead of being split silently, (2)
 * leading whitespace is dropped, which turns off inih's continuation
 * lines, (3) " #" comments are cut outside double quotes, (4) ';' inside
 * double quotes is hidden from inih's ';' comments (SEMI_MARK), and
 * (5) section headers and "key = value" syntax are checked here, where
 * the line number is known. Returns NULL at the end or after an error.
 */
static char *
cfg_reader(char *str, int num, void *stream)
{
	struct loader *L = stream;
	const char *p, *nl, *end;
	size_t rawlen, o = 0;
	bool q = false, was_space = false, seen_delim = false;
	bool value_start = false;

	if (L->failed || L->pos >= L->len)
		return NULL;
	p = L->buf + L->pos;
	nl = memchr(p, '\n', L->len - L->pos);
	end = nl ? nl : L->buf + L->len;
	L->pos = (size_t)(end - L->buf) + (nl ? 1 : 0);
	L->line++;
	if (end > p && end[-1] == '\r')
		end--;
	if (L->line == 1 && end - p >= 3 && !memcmp(p, "\xef\xbb\xbf", 3))
		p += 3; /* UTF-8 byte order mark */
	rawlen = (size_t)(end - p);
	if (rawlen > CFG_LINE_MAX || rawlen >= (size_t)num) {
		fail(L, L->line,
		     "line too long (max %d characters; put long records in "
		     "[zone] file)",
		     CFG_LINE_MAX);
		return NULL;
	}
	for (const char *c = p; c < end; c++) {
		unsigned char ch = (unsigned char)*c;
		if ((ch < 0x20 && ch != '\t') || ch == 0x7f) {
			fail(L, L->line, "control character 0x%02x in line",
			     ch);
			return NULL;
		}
	}
	while (p < end && (*p == ' ' || *p == '\t'))
		p++;
	for (; p < end; p++) {
		char c = *p;
		if (c == '\\' && p + 1 < end) {
			str[o++] = c;
			str[o++] = *++p;
			was_space = value_start = false;
			continue;
		}
		/* a comment may also start right at the value ("key =# c"),
		 * where inih would not see one */
		if (!q && (c == '#' || (c == ';' && value_start)) &&
		    (was_space || value_start || o == 0))
			break;
		if (c == '"')
			q = !q;
		else if (q && c == ';')
			c = SEMI_MARK;
		str[o++] = c;
		was_space = c == ' ' || c == '\t';
		if ((c == '=' || c == ':') && !seen_delim)
			seen_delim = value_start = true;
		else if (!was_space)
			value_start = false;
	}
	while (o > 0 && (str[o - 1] == ' ' || str[o - 1] == '\t'))
		o--;
	str[o] = '\0';

	if (str[0] == '[') {
		char *rb = strchr(str, ']');
		if (!rb) {
			fail(L, L->line, "missing ']' in section header");
			return NULL;
		}
		if (!known_section(str + 1, (size_t)(rb - str - 1))) {
			for (char *c = str; c < rb; c++)
				if (*c == SEMI_MARK)
					*c = ';';
			fail(L, L->line, "unknown section [%.*s]",
			     (int)(rb - str - 1), str + 1);
			return NULL;
		}
		const char *t = rb + 1;
		while (*t == ' ' || *t == '\t')
			t++;
		if (*t != '\0' && *t != ';') {
			fail(L, L->line, "unexpected text after [%.*s]",
			     (int)(rb - str - 1), str + 1);
			return NULL;
		}
	} else if (str[0] && str[0] != ';' && !has_assignment(str)) {
		fail(L, L->line, "expected 'key = value' or '[section]'");
		return NULL;
	}
	return str;
}

static void
unmark(char *s)
{
	for (; *s; s++)
		if (*s == SEMI_MARK)
			*s = ';';
}

static int
cfg_handler(void *user, const char *section, const char *name,
	    const char *value)
{
	struct loader *L = user;
	const struct cfg_desc *d;
	char why[256], *v;
	int r;

	if (L->failed)
		return 0;
	if (!*section) {
		char *k = xstrdup(name);
		unmark(k);
		fail(L, L->line, "key '%.60s' outside of any [section]", k);
		free(k);
		return 0;
	}
	if (!(d = find_key(section, name))) {
		char *k = xstrdup(name);
		unmark(k);
		fail(L, L->line, "unknown key '%.60s' in [%s]", k, section);
		free(k);
		return 0;
	}
	size_t idx = (size_t)(d - cfg_table);
	if (!(d->flags & F_LIST) && L->seen[idx]) {
		fail(L, L->line,
		     "duplicate key '%s' in [%s] (first set on line %d)",
		     d->key, d->section, L->seen[idx]);
		return 0;
	}
	/* the first time the file names a list, it replaces the default */
	if (d->flags & F_LIST && !L->seen[idx])
		list_clear(L->cfg, d);
	L->seen[idx] = L->line;

	if (d->flags & F_ZONE) {
		v = zone_escape(value, SEMI_MARK);
	} else {
		v = xstrdup(value);
		unmark(v);
	}
	r = set_value(L->cfg, d, v, L->line, why, sizeof(why));
	free(v);
	if (r != 0) {
		fail(L, L->line, "invalid [%s] %s: %s", d->section, d->key,
		     why);
		return 0;
	}
	return 1;
}

/* "ACMEDNS_DNS_EDNS_SIZE" for [dns] edns_size */
static void
env_name(const struct cfg_desc *d, char *buf, size_t n)
{
	size_t o =
	    (size_t)snprintf(buf, n, "%s%s_%s", ENV_PREFIX, d->section, d->key);
	for (size_t i = strlen(ENV_PREFIX); i < o && i < n; i++)
		buf[i] = (char)toupper((unsigned char)buf[i]);
}

/*
 * Does an unmatched ACMEDNS_ variable look like a configuration key?
 * ACMEDNS_<WORD>_<WORD...>: a typo of a key must not be ignored. Names
 * without a second part (ACMEDNS_CONFIG) are not keys.
 */
static bool
env_looks_like_key(const char *name, size_t len)
{
	const char *rest = name + strlen(ENV_PREFIX);
	size_t rlen = len - strlen(ENV_PREFIX);
	const char *us = memchr(rest, '_', rlen);

	return us && us > rest && (size_t)(us - rest) + 1 < rlen;
}

static void
trim(char *s)
{
	size_t n = strlen(s), i = 0;

	while (n > 0 && isspace((unsigned char)s[n - 1]))
		s[--n] = '\0';
	while (isspace((unsigned char)s[i]))
		i++;
	memmove(s, s + i, n - i + 1);
}

static int
apply_env(struct loader *L, char *const *envp)
{
	char why[256], ename[96];

	for (; envp && *envp; envp++) {
		const char *e = *envp, *eq = strchr(e, '=');
		const struct cfg_desc *d = NULL;

		if (strncmp(e, ENV_PREFIX, strlen(ENV_PREFIX)) != 0 || !eq)
			continue;
		size_t nlen = (size_t)(eq - e);
		if (nlen == strlen("ACMEDNS_CONFIG") &&
		    !strncmp(e, "ACMEDNS_CONFIG", nlen))
			continue; /* reserved: the config file's path */
		for (size_t i = 0; i < NKEYS && !d; i++) {
			env_name(&cfg_table[i], ename, sizeof(ename));
			if (strlen(ename) == nlen && !strncmp(ename, e, nlen))
				d = &cfg_table[i];
		}
		if (!d) {
			if (!env_looks_like_key(e, nlen))
				continue;
			snprintf(L->err, L->errlen,
				 "env %.*s: unknown configuration variable "
				 "(expected ACMEDNS_<SECTION>_<KEY>)",
				 (int)(nlen > 80 ? 80 : nlen), e);
			return AD_EINVAL;
		}

		char *v = d->flags & F_ZONE ? zone_escape(eq + 1, ';')
					    : xstrdup(eq + 1);
		int r;
		if (d->flags & F_LIST) {
			list_clear(L->cfg, d);
			r = set_value(L->cfg, d, v, 0, why, sizeof(why));
		} else {
			trim(v);
			r = set_value(L->cfg, d, v, 0, why, sizeof(why));
		}
		free(v);
		if (r != 0) {
			snprintf(L->err, L->errlen, "env %s: %s", ename, why);
			return r;
		}
	}
	return 0;
}

/* Is name (no trailing dot) equal to apex or a name below it? Case
 * does not matter in DNS (RFC 4343). */
static bool
name_at_or_under(const char *name, const char *apex)
{
	size_t n = strlen(name), a = strlen(apex);

	if (n < a || strcasecmp(name + (n - a), apex) != 0)
		return false;
	return n == a || name[n - a - 1] == '.';
}

/* Checks that involve more than one key, after file and environment. */
static int
cross_check(struct loader *L)
{
	struct srv_config *c = L->cfg;

	for (size_t i = 0; i < NKEYS; i++) {
		const struct cfg_desc *d = &cfg_table[i];
		if (d->flags & F_REQUIRED && !**str_field(c, d)) {
			fail(L, 0, "missing required key [%s] %s", d->section,
			     d->key);
			return AD_EINVAL;
		}
	}
	if (c->n_dns_listen == 0) {
		fail(L, 0, "[dns] listen: at least one address is needed");
		return AD_EINVAL;
	}
	if (c->n_api_listen == 0) {
		fail(L, 0, "[api] listen: at least one address is needed");
		return AD_EINVAL;
	}
	if (c->tls == SRV_TLS_FILE && (!*c->tls_cert || !*c->tls_key)) {
		fail(L, 0, "[api] tls = file needs tls_cert and tls_key");
		return AD_EINVAL;
	}
	if (c->tls == SRV_TLS_ACME && !*c->directory) {
		fail(L, 0, "[api] tls = acme needs [acme] directory");
		return AD_EINVAL;
	}
	if (*c->tls_domain && !name_at_or_under(c->tls_domain, c->domain)) {
		fail(L, 0, "[api] tls_domain %s is not under [zone] domain %s",
		     c->tls_domain, c->domain);
		return AD_EINVAL;
	}
	if ((*c->eab_kid != '\0') != (*c->eab_hmac_key != '\0')) {
		fail(L, 0, "[acme] eab_kid and eab_hmac_key go together");
		return AD_EINVAL;
	}
	return 0;
}

int
srv_config_load_buf(const char *name, const char *buf, size_t len,
		    char *const *envp, struct srv_config **out, char *err,
		    size_t errlen)
{
	struct loader L = {0};
	int r;

	*out = NULL;
	if (errlen)
		err[0] = '\0';
	L.cfg = xcalloc(1, sizeof(*L.cfg));
	L.cfg->path = xstrdup(name);
	L.name = L.cfg->path;
	L.buf = buf;
	L.len = len;
	L.err = err;
	L.errlen = errlen;
	set_defaults(L.cfg);

	r = ini_parse_stream(cfg_reader, &L, cfg_handler, &L);
	if (!L.failed && r != 0)
		fail(&L, r > 0 ? r : 0, "syntax error");
	if (L.failed)
		goto bad;
	if (apply_env(&L, envp) != 0)
		goto bad;
	if (cross_check(&L) != 0)
		goto bad;
	*out = L.cfg;
	return 0;
bad:
	srv_config_free(L.cfg);
	return AD_EINVAL;
}

int
srv_config_load(const char *file, char *const *envp, struct srv_config **out,
		char *err, size_t errlen)
{
	FILE *f = fopen(file, "r");
	char *buf;
	size_t len;
	int r;

	*out = NULL;
	if (!f) {
		r = errno;
		snprintf(err, errlen, "%s: cannot open: %s", file, strerror(r));
		return -r;
	}
	buf = xmalloc(CFG_FILE_MAX + 1);
	len = fread(buf, 1, CFG_FILE_MAX + 1, f);
	if (ferror(f)) {
		snprintf(err, errlen, "%s: cannot read: %s", file,
			 strerror(errno));
		r = AD_EIO;
	} else if (len > CFG_FILE_MAX) {
		snprintf(err, errlen, "%s: file too large (max %d bytes)", file,
			 CFG_FILE_MAX);
		r = AD_ELIMIT;
	} else {
		r = srv_config_load_buf(file, buf, len, envp, out, err, errlen);
	}
	free(buf);
	fclose(f);
	return r;
}

/* ------------------------------------------------------------------ */
/* dump and iteration */

/*
 * Print a record as the user wrote it: the \\059 that stands for a quoted
 * ';' goes back to ';' (the loader escapes it again), which keeps dumped
 * lines as short as the original ones.
 */
static void
dump_zone_text(const char *s, FILE *f)
{
	bool q = false;

	for (; *s; s++) {
		if (*s == '\\' && s[1]) {
			if (q && !strncmp(s + 1, "059", 3)) {
				fputc(';', f);
				s += 3;
			} else {
				fputc(*s++, f);
				fputc(*s, f);
			}
			continue;
		}
		if (*s == '"')
			q = !q;
		fputc(*s, f);
	}
}

static void
dump_key(const struct srv_config *cfg, const struct cfg_desc *d, FILE *f)
{
	switch (d->type) {
	case CT_STR:
	case CT_CHOICE: {
		const char *v = *str_field(cfg, d);
		if (d->flags & F_SECRET && *v)
			v = "********";
		size_t vl = strlen(v);
		/* quote what would not read back as it is: comment
		 * characters, surrounding quotes or white space */
		bool q = d->type == CT_STR && vl &&
			 ((vl >= 2 && v[0] == '"' && v[vl - 1] == '"') ||
			  v[0] == ' ' || v[vl - 1] == ' ' || strchr(v, '#') ||
			  strchr(v, ';'));
		fprintf(f, "%s =%s%s%s%s\n", d->key, *v ? " " : "",
			q ? "\"" : "", v, q ? "\"" : "");
		break;
	}
	case CT_UINT:
		fprintf(f, "%s = %u\n", d->key,
			*(uint32_t *)field(cfg, d->off));
		break;
	case CT_BOOL:
		fprintf(f, "%s = %s\n", d->key,
			*(bool *)field(cfg, d->off) ? "true" : "false");
		break;
	case CT_ENUM:
		fprintf(f, "%s = %s\n", d->key,
			d->choices[*(int *)field(cfg, d->off)]);
		break;
	case CT_ADDRS: {
		const struct srv_addr *a =
		    *(struct srv_addr **)field(cfg, d->off);
		size_t n = *(size_t *)field(cfg, d->off_n);
		for (size_t i = 0; i < n; i++)
			fprintf(f, "%s = %s\n", d->key, a[i].text);
		if (n == 0)
			fprintf(f, "# %s =\n", d->key);
		break;
	}
	case CT_CIDRS: {
		const struct srv_cidr *c =
		    *(struct srv_cidr **)field(cfg, d->off);
		size_t n = *(size_t *)field(cfg, d->off_n);
		for (size_t i = 0; i < n; i++)
			fprintf(f, "%s = %s\n", d->key, c[i].text);
		if (n == 0)
			fprintf(f, "# %s =\n", d->key);
		break;
	}
	case CT_STRS: {
		const struct srv_list *l = field(cfg, d->off);
		for (size_t i = 0; i < l->n; i++) {
			fprintf(f, "%s = ", d->key);
			if (d->flags & F_ZONE)
				dump_zone_text(l->v[i].value, f);
			else
				fputs(l->v[i].value, f);
			fputc('\n', f);
		}
		if (l->n == 0)
			fprintf(f, "# %s =\n", d->key);
		break;
	}
	}
}

void
srv_config_dump(const struct srv_config *cfg, FILE *f)
{
	const char *section = NULL;

	fprintf(f, "# effective configuration of %s\n", cfg->path);
	for (size_t i = 0; i < NKEYS; i++) {
		const struct cfg_desc *d = &cfg_table[i];
		if (!section || strcmp(section, d->section) != 0) {
			section = d->section;
			fprintf(f, "\n[%s]\n", section);
		}
		fprintf(f, "# %s\n", d->doc);
		dump_key(cfg, d, f);
	}
}

bool
srv_config_key(size_t i, const char **section, const char **key)
{
	if (i >= NKEYS)
		return false;
	*section = cfg_table[i].section;
	*key = cfg_table[i].key;
	return true;
}
