/* SPDX-License-Identifier: MIT */
/*
 * Unit tests of the configuration loader (server/config.c): defaults from
 * the descriptor table, every value type and range, errors with their
 * FILE:LINE, the line reader's comment and quoting rules, environment
 * overrides, required and cross-key checks, the dump round trip, and that
 * the sample acmedns.conf documents every key and loads.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "server/config.h"

#include <netinet/in.h>

#define ZONE_MIN                                                               \
	"[zone]\n"                                                             \
	"domain = auth.example.test\n"                                         \
	"nsname = ns1.auth.example.test\n"                                     \
	"nsadmin = hostmaster.example.test\n"

static char *const no_env[] = {NULL};

static struct srv_config *
load_env(const char *text, char *const *envp)
{
	struct srv_config *cfg = NULL;
	char err[512] = "";
	int r = srv_config_load_buf("t.conf", text, strlen(text), envp, &cfg,
				    err, sizeof(err));
	if (r != 0)
		fail_msg("unexpected error: %s", err);
	assert_non_null(cfg);
	return cfg;
}

static struct srv_config *
load(const char *text)
{
	return load_env(text, no_env);
}

/* loading must fail with exactly this message */
static void
load_fails_env(const char *text, char *const *envp, const char *want)
{
	struct srv_config *cfg = (struct srv_config *)1;
	char err[512] = "";
	int r = srv_config_load_buf("t.conf", text, strlen(text), envp, &cfg,
				    err, sizeof(err));
	assert_int_not_equal(r, 0);
	assert_null(cfg);
	assert_string_equal(err, want);
}

static void
load_fails(const char *text, const char *want)
{
	load_fails_env(text, no_env, want);
}

static void
test_defaults(void **state)
{
	(void)state;
	struct srv_config *c = load(ZONE_MIN);

	assert_string_equal(c->path, "t.conf");
	assert_string_equal(c->user, "");
	assert_string_equal(c->group, "");
	assert_string_equal(c->log_level, "info");
	assert_int_equal(c->n_dns_listen, 1);
	assert_string_equal(c->dns_listen[0].text, "127.0.0.1:5353");
	assert_int_equal(c->dns_listen[0].ss.ss_family, AF_INET);
	assert_int_equal(c->edns_size, 1232);
	assert_int_equal(c->tcp_idle_timeout, 10);
	assert_int_equal(c->tcp_max_clients, 1024);
	assert_int_equal(c->tcp_max_queries, 10000);
	assert_string_equal(c->version, "");
	assert_string_equal(c->identity, "");
	assert_string_equal(c->domain, "auth.example.test");
	assert_string_equal(c->nsname, "ns1.auth.example.test.");
	assert_string_equal(c->nsadmin, "hostmaster.example.test.");
	assert_int_equal(c->records.n, 0);
	assert_string_equal(c->zone_file, "");
	assert_int_equal(c->default_ttl, 3600);
	assert_int_equal(c->soa_ttl, 3600);
	assert_int_equal(c->refresh, 3600);
	assert_int_equal(c->retry, 600);
	assert_int_equal(c->expire, 86400);
	assert_int_equal(c->minimum, 300);
	assert_int_equal(c->txt_ttl, 1);
	assert_int_equal(c->n_api_listen, 1);
	assert_string_equal(c->api_listen[0].text, "127.0.0.1:8053");
	assert_int_equal(c->tls, SRV_TLS_NONE);
	assert_string_equal(c->tls_cert, "");
	assert_string_equal(c->tls_key, "");
	assert_int_equal(c->txt_slots, 2);
	assert_int_equal(c->txt_max_age, 0);
	assert_false(c->disable_registration);
	assert_int_equal(c->n_registration_allowfrom, 0);
	assert_string_equal(c->registration_token, "");
	assert_int_equal(c->cors_origins.n, 0);
	assert_false(c->use_header);
	assert_string_equal(c->header_name, "X-Forwarded-For");
	assert_int_equal(c->n_trusted_proxies, 0);
	assert_string_equal(c->store_path, "./data/acmedns.db");
	assert_string_equal(c->directory, "");
	assert_string_equal(c->ca_bundle, "");
	assert_string_equal(c->email, "");
	assert_string_equal(c->resolver, "");
	assert_string_equal(c->eab_kid, "");
	assert_string_equal(c->eab_hmac_key, "");
	assert_string_equal(c->key_type, "ec256");
	assert_string_equal(c->account_key_type, "ec256");
	assert_string_equal(c->preferred_chain, "");
	assert_string_equal(c->profile, "");
	assert_string_equal(c->certs_dir, "./data/certs");
	assert_string_equal(c->deploy_hook, "");
	assert_int_equal(c->hook_timeout, 60);
	srv_config_free(c);
}

static void
test_every_type(void **state)
{
	(void)state;
	struct srv_config *c =
	    load("[server]\n"
		 "user = nobody\n"
		 "log_level = DEBUG\n"
		 "[dns]\n"
		 "listen = 192.0.2.1:53\n"
		 "listen = [2001:db8::1]:53, 0.0.0.0:5300\n"
		 "edns_size = 4096\n"
		 "version = acmedns 1.0\n" ZONE_MIN "record = ns1 A 127.0.0.1\n"
		 "record = @ TXT \"hello\"\n"
		 "[api]\n"
		 "tls = file\n"
		 "tls_cert = /c.pem\n"
		 "tls_key = /k.pem\n"
		 "txt_slots = 64\n"
		 "disable_registration = yes\n"
		 "use_header = On\n"
		 "registration_allowfrom = 10.0.0.0/8\n"
		 "registration_allowfrom = 2001:db8::/32 192.0.2.7/32\n"
		 "cors_origins = https://a.example\n"
		 "cors_origins = *\n"
		 "[acme]\n"
		 "key_type = rsa3072\n"
		 "account_key_type = ec384\n"
		 "resolver = 127.0.0.1:5300\n"
		 "directory = https://127.0.0.1:14000/dir\n");

	assert_string_equal(c->user, "nobody");
	assert_string_equal(c->log_level, "debug"); /* canonical */
	assert_int_equal(c->n_dns_listen, 3);
	assert_string_equal(c->dns_listen[0].text, "192.0.2.1:53");
	assert_string_equal(c->dns_listen[1].text, "[2001:db8::1]:53");
	assert_int_equal(c->dns_listen[1].ss.ss_family, AF_INET6);
	assert_int_equal(c->dns_listen[1].len, sizeof(struct sockaddr_in6));
	assert_string_equal(c->dns_listen[2].text, "0.0.0.0:5300");
	assert_int_equal(c->edns_size, 4096);
	assert_string_equal(c->version, "acmedns 1.0");
	assert_int_equal(c->records.n, 2);
	assert_string_equal(c->records.v[0].value, "ns1 A 127.0.0.1");
	assert_int_equal(c->records.v[0].line, 13);
	assert_string_equal(c->records.v[1].value, "@ TXT \"hello\"");
	assert_int_equal(c->records.v[1].line, 14);
	assert_int_equal(c->tls, SRV_TLS_FILE);
	assert_int_equal(c->txt_slots, 64);
	assert_true(c->disable_registration);
	assert_true(c->use_header);
	assert_int_equal(c->n_registration_allowfrom, 3);
	assert_string_equal(c->registration_allowfrom[1].text, "2001:db8::/32");
	assert_int_equal(c->registration_allowfrom[1].family, AF_INET6);
	assert_int_equal(c->registration_allowfrom[2].prefix, 32);
	assert_int_equal(c->cors_origins.n, 2);
	assert_string_equal(c->cors_origins.v[1].value, "*");
	assert_string_equal(c->key_type, "rsa3072");
	assert_string_equal(c->account_key_type, "ec384");
	assert_string_equal(c->resolver, "127.0.0.1:5300");
	srv_config_free(c);

	c = load(ZONE_MIN "[api]\ntls = acme\n[acme]\ndirectory = "
			  "https://ca.example/dir\n");
	assert_int_equal(c->tls, SRV_TLS_ACME);
	srv_config_free(c);
}

static void
test_ranges(void **state)
{
	(void)state;
	struct srv_config *c =
	    load("[dns]\nedns_size = 512\n"
		 "tcp_idle_timeout = 300\n"
		 "tcp_max_clients = 65535\n" ZONE_MIN "[api]\ntxt_slots = 1\n");
	assert_int_equal(c->edns_size, 512);
	assert_int_equal(c->tcp_idle_timeout, 300);
	assert_int_equal(c->tcp_max_clients, 65535);
	assert_int_equal(c->txt_slots, 1);
	srv_config_free(c);

	load_fails("[dns]\nedns_size = 511\n",
		   "t.conf:2: invalid [dns] edns_size: '511' is out of range "
		   "(512..4096)");
	load_fails("[dns]\nedns_size = 4097\n",
		   "t.conf:2: invalid [dns] edns_size: '4097' is out of range "
		   "(512..4096)");
	load_fails("[dns]\ntcp_idle_timeout = 0\n",
		   "t.conf:2: invalid [dns] tcp_idle_timeout: '0' is out of "
		   "range (1..300)");
	load_fails("[api]\ntxt_slots = 65\n",
		   "t.conf:2: invalid [api] txt_slots: '65' is out of range "
		   "(1..64)");
	load_fails("[dns]\ntcp_max_queries = 99999999999\n",
		   "t.conf:2: invalid [dns] tcp_max_queries: '99999999999' is "
		   "out of range (1..4294967295)");
	load_fails("[dns]\nedns_size = -1\n",
		   "t.conf:2: invalid [dns] edns_size: '-1' is not a number "
		   "(512..4096)");
	load_fails("[dns]\nedns_size = 1k\n",
		   "t.conf:2: invalid [dns] edns_size: '1k' is not a number "
		   "(512..4096)");
	load_fails("[dns]\nedns_size =\n",
		   "t.conf:2: invalid [dns] edns_size: '' is not a number "
		   "(512..4096)");
	load_fails("[api]\nuse_header = maybe\n",
		   "t.conf:2: invalid [api] use_header: 'maybe' is not a "
		   "boolean (true | false)");
	load_fails("[api]\ntls = ssl\n",
		   "t.conf:2: invalid [api] tls: 'ssl' is not one of none | "
		   "file | acme");
	load_fails("[server]\nlog_level = trace\n",
		   "t.conf:2: invalid [server] log_level: 'trace' is not one "
		   "of error | warning | info | debug");
	load_fails("[acme]\naccount_key_type = rsa3072\n",
		   "t.conf:2: invalid [acme] account_key_type: 'rsa3072' is "
		   "not one of ec256 | ec384 | rsa2048 | rsa4096");
	load_fails("[dns]\nlisten = 127.0.0.1\n",
		   "t.conf:2: invalid [dns] listen: '127.0.0.1' is not "
		   "IP:PORT or [IPv6]:PORT (port 1..65535)");
	load_fails("[dns]\nlisten = 127.0.0.1:0\n",
		   "t.conf:2: invalid [dns] listen: '127.0.0.1:0' is not "
		   "IP:PORT or [IPv6]:PORT (port 1..65535)");
	load_fails("[api]\ntrusted_proxies = 10.0.0.1\n",
		   "t.conf:2: invalid [api] trusted_proxies: '10.0.0.1' is "
		   "not a CIDR (e.g. 192.0.2.0/24, 2001:db8::/32)");
	load_fails("[zone]\ndomain = bad..name\n",
		   "t.conf:2: invalid [zone] domain: not a valid domain name");
	load_fails("[zone]\nnsadmin = admin@example.test\n",
		   "t.conf:2: invalid [zone] nsadmin: not a valid domain name");
	load_fails("[zone]\nnsname = .\n",
		   "t.conf:2: invalid [zone] nsname: not a valid domain name");
	load_fails("[api]\nheader_name = X Real IP\n",
		   "t.conf:2: invalid [api] header_name: not a valid HTTP "
		   "header name");
	load_fails("[acme]\ndirectory = ftp://x\n",
		   "t.conf:2: invalid [acme] directory: expected an https:// "
		   "URL");
	load_fails("[acme]\nresolver = dns.google\n",
		   "t.conf:2: invalid [acme] resolver: expected IP, IP:PORT "
		   "or [IPv6]:PORT");
}

static void
test_errors_with_lines(void **state)
{
	(void)state;
	load_fails("# comment\n"
		   "\n"
		   "[dns]\n"
		   "  ; another comment\n"
		   "listen = 127.0.0.1:53\n"
		   "\n"
		   "bogus = 1\n",
		   "t.conf:7: unknown key 'bogus' in [dns]");
	load_fails("[dns]\nlisten = 127.0.0.1:53\n\n[dnss]\nlisten = x\n",
		   "t.conf:4: unknown section [dnss]");
	load_fails("top = 1\n", "t.conf:1: key 'top' outside of any [section]");
	load_fails("[dns\n", "t.conf:1: missing ']' in section header");
	load_fails("[dns] junk\n", "t.conf:1: unexpected text after [dns]");
	load_fails("[dns]\njust words\n",
		   "t.conf:2: expected 'key = value' or '[section]'");
	load_fails("[dns]\nedns_size = 1232\n\nedns_size = 1400\n",
		   "t.conf:4: duplicate key 'edns_size' in [dns] (first set on "
		   "line 2)");
	/* the first error wins */
	load_fails("[dns]\nfoo = 1\nbar = 2\n",
		   "t.conf:2: unknown key 'foo' in [dns]");
	load_fails("[dns]\nversion = a\x02z\n",
		   "t.conf:2: control character 0x02 in line");

	/* a section header may carry a comment */
	struct srv_config *c =
	    load("[dns] # comment\n[api] ; comment\n" ZONE_MIN);
	srv_config_free(c);
}

static void
test_long_line(void **state)
{
	(void)state;
	char buf[512];
	char rec[256];

	/* 199 characters is fine */
	memset(rec, 'a', sizeof(rec));
	snprintf(buf, sizeof(buf), ZONE_MIN "record = x TXT \"%.*s\"\n",
		 199 - 17, rec);
	struct srv_config *c = load(buf);
	assert_int_equal(c->records.n, 1);
	assert_int_equal(strlen(c->records.v[0].value), 199 - 9);
	srv_config_free(c);

	snprintf(buf, sizeof(buf), ZONE_MIN "record = x TXT \"%.*s\"\n",
		 200 - 17, rec);
	load_fails(buf, "t.conf:5: line too long (max 199 characters; put "
			"long records in [zone] file)");
}

static void
test_comments_and_quotes(void **state)
{
	(void)state;
	struct srv_config *c =
	    load("[dns]\n"
		 "version = v1 # a comment\n"
		 "identity = id#not-a-comment ; inih comment\n" ZONE_MIN
		 "record = a TXT \"x # y\" # comment\n"
		 "record = b TXT \"p;q\" \"r ; s\" ; comment\n"
		 "record = c TXT \"esc \\\" # still quoted\"\n"
		 "  record = d A 192.0.2.1\n"
		 "[api]\n"
		 "\tregistration_token = t;ok\n");
	assert_string_equal(c->version, "v1");
	assert_string_equal(c->identity, "id#not-a-comment");
	assert_int_equal(c->records.n, 4);
	assert_string_equal(c->records.v[0].value, "a TXT \"x # y\"");
	assert_string_equal(c->records.v[1].value,
			    "b TXT \"p\\059q\" \"r \\059 s\"");
	assert_string_equal(c->records.v[2].value,
			    "c TXT \"esc \\\" # still quoted\"");
	/* leading whitespace is not a continuation line */
	assert_string_equal(c->records.v[3].value, "d A 192.0.2.1");
	assert_int_equal(c->records.v[3].line, 11);
	assert_string_equal(c->registration_token, "t;ok");
	srv_config_free(c);

	/* a comment right at the value, where inih alone would not see one */
	c = load("[dns]\nversion =# nothing\nidentity =;nothing\n" ZONE_MIN
		 "[acme]\nemail = a@b # c\n");
	assert_string_equal(c->version, "");
	assert_string_equal(c->identity, "");
	assert_string_equal(c->email, "a@b");
	srv_config_free(c);

	/* one pair of quotes around a plain value is syntax */
	c = load("[dns]\nversion = \"acmedns 1 # x\"\nidentity = \"\"\"\"\n"
		 ZONE_MIN "[api]\nheader_name = X-Real-IP\n");
	assert_string_equal(c->version, "acmedns 1 # x");
	assert_string_equal(c->identity, "\"\"");
	srv_config_free(c);

	/* CRLF and a byte order mark */
	c = load("\xef\xbb\xbf[dns]\r\nedns_size = 1400\r\n" ZONE_MIN);
	assert_int_equal(c->edns_size, 1400);
	srv_config_free(c);
}

static void
test_env(void **state)
{
	(void)state;
	char *env1[] = {
	    "PATH=/bin",
	    "ACMEDNS_CONFIG=/etc/acmedns.conf",
	    "ACMEDNS_DNS_EDNS_SIZE=4000",
	    "ACMEDNS_DNS_LISTEN=10.0.0.1:53,[::1]:53\n 127.0.0.2:53 ",
	    "ACMEDNS_ZONE_RECORD=a A 192.0.2.1\nb TXT \"x;y\"\n",
	    "ACMEDNS_API_USE_HEADER=true",
	    "ACMEDNS_API_TLS=file",
	    "ACMEDNS_API_TLS_CERT=/c",
	    "ACMEDNS_API_TLS_KEY=/k",
	    "ACMEDNS_SERVER_USER= nobody ",
	    "ACMEDNS_CERTS_DIR=/var/lib/acmedns/certs",
	    "ACMEDNS_ACME_EAB_KID=kid",
	    "ACMEDNS_ACME_EAB_HMAC_KEY=c2VjcmV0",
	    NULL,
	};
	struct srv_config *c =
	    load_env("[dns]\n"
		     "listen = 192.0.2.1:53\n"
		     "listen = 192.0.2.2:53\n"
		     "edns_size = 1400\n" ZONE_MIN "record = c A 192.0.2.3\n",
		     env1);
	assert_int_equal(c->edns_size, 4000);
	assert_int_equal(c->n_dns_listen, 3); /* replaced, not appended */
	assert_string_equal(c->dns_listen[0].text, "10.0.0.1:53");
	assert_string_equal(c->dns_listen[1].text, "[::1]:53");
	assert_string_equal(c->dns_listen[2].text, "127.0.0.2:53");
	assert_int_equal(c->records.n, 2);
	assert_string_equal(c->records.v[0].value, "a A 192.0.2.1");
	assert_int_equal(c->records.v[0].line, 0);
	assert_string_equal(c->records.v[1].value, "b TXT \"x\\059y\"");
	assert_true(c->use_header);
	assert_int_equal(c->tls, SRV_TLS_FILE);
	assert_string_equal(c->user, "nobody");
	assert_string_equal(c->certs_dir, "/var/lib/acmedns/certs");
	srv_config_free(c);

	/* required keys from the environment alone */
	char *env2[] = {"ACMEDNS_ZONE_DOMAIN=env.example.test",
			"ACMEDNS_ZONE_NSNAME=ns.env.example.test.",
			"ACMEDNS_ZONE_NSADMIN=hm.env.example.test", NULL};
	c = load_env("", env2);
	assert_string_equal(c->domain, "env.example.test");
	assert_string_equal(c->nsname, "ns.env.example.test.");
	srv_config_free(c);

	/* an empty list from the environment clears the file's */
	char *env3[] = {"ACMEDNS_API_CORS_ORIGINS=", NULL};
	c = load_env(ZONE_MIN "[api]\ncors_origins = *\n", env3);
	assert_int_equal(c->cors_origins.n, 0);
	srv_config_free(c);

	char *bad1[] = {"ACMEDNS_DNS_EDNS_SIZE=100", NULL};
	load_fails_env(ZONE_MIN, bad1,
		       "env ACMEDNS_DNS_EDNS_SIZE: '100' is out of range "
		       "(512..4096)");
	char *bad2[] = {"ACMEDNS_DNS_LISTEN=127.0.0.1:53,nope", NULL};
	load_fails_env(ZONE_MIN, bad2,
		       "env ACMEDNS_DNS_LISTEN: 'nope' is not IP:PORT or "
		       "[IPv6]:PORT (port 1..65535)");
	char *bad3[] = {"ACMEDNS_DNS_LISTN=127.0.0.1:53", NULL};
	load_fails_env(ZONE_MIN, bad3,
		       "env ACMEDNS_DNS_LISTN: unknown configuration variable "
		       "(expected ACMEDNS_<SECTION>_<KEY>)");
	char *bad4[] = {"ACMEDNS_DSN_LISTEN=127.0.0.1:53", NULL};
	load_fails_env(ZONE_MIN, bad4,
		       "env ACMEDNS_DSN_LISTEN: unknown configuration variable "
		       "(expected ACMEDNS_<SECTION>_<KEY>)");
	char *bad5[] = {"ACMEDNS_dns_listen=127.0.0.1:53", NULL};
	load_fails_env(ZONE_MIN, bad5,
		       "env ACMEDNS_dns_listen: unknown configuration variable "
		       "(expected ACMEDNS_<SECTION>_<KEY>)");
	char *bad6[] = {"ACMEDNS_DNS_VERSION=a\nb", NULL};
	load_fails_env(ZONE_MIN, bad6,
		       "env ACMEDNS_DNS_VERSION: control character 0x0a in "
		       "value");
	char *bad7[] = {"ACMEDNS_API_TLS=file", NULL};
	load_fails_env(ZONE_MIN, bad7,
		       "t.conf: [api] tls = file needs tls_cert and tls_key");
	char *bad8[] = {"ACMEDNS_DNS_LISTEN=", NULL};
	load_fails_env(ZONE_MIN, bad8,
		       "t.conf: [dns] listen: at least one address is needed");

	/* not shaped like a key: left alone */
	char *ok[] = {"ACMEDNS_DEBUG=1", "ACMEDNS_=x", "ACMEDNSX_Y_Z=1", NULL};
	c = load_env(ZONE_MIN, ok);
	srv_config_free(c);
}

static void
test_required_and_cross(void **state)
{
	(void)state;
	load_fails("", "t.conf: missing required key [zone] domain");
	load_fails("[zone]\ndomain = auth.example.test\n"
		   "nsadmin = hm.example.test\n",
		   "t.conf: missing required key [zone] nsname");
	load_fails("[zone]\ndomain = a.test\nnsname = ns.a.test\nnsadmin =\n",
		   "t.conf: missing required key [zone] nsadmin");
	load_fails(ZONE_MIN "[api]\ntls = file\ntls_cert = /c\n",
		   "t.conf: [api] tls = file needs tls_cert and tls_key");
	load_fails(ZONE_MIN "[api]\ntls = acme\n",
		   "t.conf: [api] tls = acme needs [acme] directory");
	load_fails(ZONE_MIN "[acme]\neab_kid = k\n",
		   "t.conf: [acme] eab_kid and eab_hmac_key go together");

	/* names are normalised: domain relative-looking, the others FQDN */
	struct srv_config *c = load("[zone]\ndomain = auth.example.test.\n"
				    "nsname = ns1.auth.example.test.\n"
				    "nsadmin = hm.example.test\n");
	assert_string_equal(c->domain, "auth.example.test");
	assert_string_equal(c->nsname, "ns1.auth.example.test.");
	assert_string_equal(c->nsadmin, "hm.example.test.");
	srv_config_free(c);
}

static void
test_missing_file(void **state)
{
	(void)state;
	struct srv_config *c = (struct srv_config *)1;
	char err[512];

	assert_int_not_equal(srv_config_load(CFG_DATA_DIR "/nope.conf", no_env,
					     &c, err, sizeof(err)),
			     0);
	assert_null(c);
	assert_string_equal(
	    err,
	    CFG_DATA_DIR "/nope.conf: cannot open: No such file or directory");
}

static char *
dump_str(const struct srv_config *c)
{
	char *buf = NULL;
	size_t len = 0;
	FILE *f = open_memstream(&buf, &len);

	assert_non_null(f);
	srv_config_dump(c, f);
	fclose(f);
	return buf;
}

static void
test_dump_round_trip(void **state)
{
	(void)state;
	char *env[] = {"ACMEDNS_ACME_EAB_HMAC_KEY=hmac-very-secret", NULL};
	struct srv_config *c = load_env(
	    "[server]\nlog_level = warning\n"
	    "[dns]\nlisten = 127.0.0.1:53\nlisten = [::]:53\n"
	    "version = \"quoted # text\"\n" ZONE_MIN
	    "record = ns1 A 127.0.0.1\n"
	    "record = t TXT \"a;b\" \"c # d\"\n"
	    "[api]\nregistration_token = tok-very-secret\n"
	    "registration_allowfrom = 10.0.0.0/8\n"
	    "registration_allowfrom = ::1/128\n"
	    "cors_origins = *\n"
	    "disable_registration = true\n"
	    "tls = acme\n"
	    "[acme]\ndirectory = https://ca.example/dir\neab_kid = kid\n",
	    env);
	char *d1 = dump_str(c);

	assert_null(strstr(d1, "very-secret"));
	assert_non_null(strstr(d1, "\nregistration_token = ********\n"));
	assert_non_null(strstr(d1, "\neab_hmac_key = ********\n"));
	assert_non_null(strstr(d1, "\n[dns]\n"));
	assert_non_null(
	    strstr(d1, "\nlisten = 127.0.0.1:53\nlisten = [::]:53\n"));
	assert_non_null(strstr(d1, "\nversion = \"quoted # text\"\n"));
	/* the quoted ';' is shown as written (the loader escapes it again) */
	assert_non_null(strstr(d1, "\nrecord = t TXT \"a;b\" \"c # d\"\n"));
	assert_non_null(strstr(d1, "\nregistration_allowfrom = ::1/128\n"));
	assert_non_null(strstr(d1, "\n# trusted_proxies =\n"));
	assert_non_null(strstr(d1, "\ntls = acme\n"));
	/* every key of the table is in the dump */
	const char *sec, *key;
	for (size_t i = 0; srv_config_key(i, &sec, &key); i++) {
		char needle[128];
		char empty[128];
		snprintf(needle, sizeof(needle), "\n%s =", key);
		snprintf(empty, sizeof(empty), "\n# %s =\n", key);
		if (!strstr(d1, needle) && !strstr(d1, empty))
			fail_msg("dump lacks [%s] %s", sec, key);
	}

	struct srv_config *c2 = NULL;
	char err[512] = "";
	int r = srv_config_load_buf("t.conf", d1, strlen(d1), no_env, &c2, err,
				    sizeof(err));
	if (r != 0)
		fail_msg("dump does not load: %s", err);
	char *d2 = dump_str(c2);
	assert_string_equal(d1, d2);
	assert_string_equal(c2->version, "quoted # text");
	assert_int_equal(c2->records.n, 2);
	assert_string_equal(c2->records.v[1].value,
			    "t TXT \"a\\059b\" \"c # d\"");
	free(d1);
	free(d2);
	srv_config_free(c);
	srv_config_free(c2);
}

/* Every key of the table appears in the sample as "key =" or "# key =",
 * within its own [section]. */
static void
test_sample_documents_every_key(void **state)
{
	(void)state;
	FILE *f = fopen(CFG_SAMPLE, "r");
	char line[512], cur[64] = "";
	static char seen[256][96];
	size_t nseen = 0;

	assert_non_null(f);
	while (fgets(line, sizeof(line), f)) {
		char *p = line, *e;
		if (line[0] == '[' && (e = strchr(line, ']'))) {
			snprintf(cur, sizeof(cur), "%.*s", (int)(e - line - 1),
				 line + 1);
			continue;
		}
		if (p[0] == '#')
			p += p[1] == ' ' ? 2 : 1;
		e = p;
		while ((*e >= 'a' && *e <= 'z') || *e == '_')
			e++;
		if (e == p || strncmp(e, " =", 2) != 0 || nseen == 256)
			continue;
		snprintf(seen[nseen++], sizeof(seen[0]), "%s %.*s", cur,
			 (int)(e - p), p);
	}
	fclose(f);

	const char *sec, *key;
	size_t i;
	for (i = 0; srv_config_key(i, &sec, &key); i++) {
		char want[96];
		bool found = false;
		snprintf(want, sizeof(want), "%s %s", sec, key);
		for (size_t j = 0; j < nseen && !found; j++)
			found = strcmp(seen[j], want) == 0;
		if (!found)
			fail_msg("acmedns.conf does not document [%s] %s", sec,
				 key);
	}
	assert_true(i > 40);
}

static void
test_sample_loads(void **state)
{
	(void)state;
	struct srv_config *c = NULL;
	char err[512] = "";

	if (srv_config_load(CFG_SAMPLE, no_env, &c, err, sizeof(err)) != 0)
		fail_msg("%s", err);
	assert_int_equal(c->n_dns_listen, 2);
	assert_string_equal(c->dns_listen[0].text, "127.0.0.1:5353");
	assert_string_equal(c->dns_listen[1].text, "[::1]:5353");
	assert_string_equal(c->domain, "auth.example.test");
	assert_string_equal(c->api_listen[0].text, "127.0.0.1:8053");
	assert_true(c->records.n >= 3);
	srv_config_free(c);
}

static void
test_key_iteration(void **state)
{
	(void)state;
	const char *sec, *key;
	size_t n = 0;

	while (srv_config_key(n, &sec, &key))
		n++;
	assert_int_equal(n, 54);
	assert_true(srv_config_key(0, &sec, &key));
	assert_string_equal(sec, "server");
	assert_string_equal(key, "user");
	assert_false(srv_config_key(n, &sec, &key));
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_defaults),
	    cmocka_unit_test(test_every_type),
	    cmocka_unit_test(test_ranges),
	    cmocka_unit_test(test_errors_with_lines),
	    cmocka_unit_test(test_long_line),
	    cmocka_unit_test(test_comments_and_quotes),
	    cmocka_unit_test(test_env),
	    cmocka_unit_test(test_required_and_cross),
	    cmocka_unit_test(test_missing_file),
	    cmocka_unit_test(test_dump_round_trip),
	    cmocka_unit_test(test_sample_documents_every_key),
	    cmocka_unit_test(test_sample_loads),
	    cmocka_unit_test(test_key_iteration),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
