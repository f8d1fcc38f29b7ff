/* SPDX-License-Identifier: MIT */
/*
 * Unit tests of static records (server/records.c): [zone] record lines and
 * [zone] file records parsed by ldns come out as the expected wire-format
 * owner/type/TTL/RDATA, with the apex NS generated first; bad lines,
 * out-of-zone owners and other classes are reported with FILE:LINE; and
 * srv_zone_load_static() maps zone_set_static() refusals to config lines.
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
#include "zones/zone.h"

#define ZONE_MIN                                                               \
	"[zone]\n"                                                             \
	"domain = auth.example.test\n"                                         \
	"nsname = ns1.auth.example.test\n"                                     \
	"nsadmin = hostmaster.example.test\n"

#define APEX                                                                   \
	"\x04"                                                                 \
	"auth"                                                                 \
	"\x07"                                                                 \
	"example"                                                              \
	"\x04"                                                                 \
	"test"

static char *const no_env[] = {NULL};

static struct srv_config *
load(const char *text)
{
	struct srv_config *cfg = NULL;
	char err[512] = "";
	if (srv_config_load_buf("t.conf", text, strlen(text), no_env, &cfg, err,
				sizeof(err)) != 0)
		fail_msg("config: %s", err);
	return cfg;
}

static void
build_ok(const char *text, struct srv_config **cfg, struct srv_records *r)
{
	char err[512] = "";

	*cfg = load(text);
	if (srv_records_build(*cfg, r, err, sizeof(err)) != 0)
		fail_msg("records: %s", err);
}

static void
build_fails(const char *text, const char *want)
{
	struct srv_config *cfg = load(text);
	struct srv_records r;
	char err[512] = "";

	assert_int_not_equal(srv_records_build(cfg, &r, err, sizeof(err)), 0);
	assert_int_equal(r.n, 0);
	assert_null(r.rrs);
	if (strcmp(err, want) != 0)
		fail_msg("got '%s', want '%s'", err, want);
	srv_config_free(cfg);
}

/* owner and RDATA as C string literals (sizeof - 1 bytes each) */
#define EXPECT(r, i, own, typ, tl, rd, ln)                                     \
	expect_rr(r, i, (const uint8_t *)own, sizeof(own) - 1, typ, tl,        \
		  (const uint8_t *)rd, sizeof(rd) - 1, ln)

static void
expect_rr(const struct srv_records *r, size_t i, const uint8_t *owner,
	  size_t olen, uint16_t type, uint32_t ttl, const uint8_t *rdata,
	  size_t rdlen, int line)
{
	assert_true(i < r->n);
	assert_memory_equal(r->rrs[i].owner, owner, olen);
	assert_int_equal(r->rrs[i].type, type);
	assert_int_equal(r->rrs[i].ttl, ttl);
	assert_int_equal(r->rrs[i].rdlen, rdlen);
	if (rdlen)
		assert_memory_equal(r->rrs[i].rdata, rdata, rdlen);
	assert_int_equal(r->lines[i], line);
}

static void
test_config_records(void **state)
{
	(void)state;
	struct srv_config *cfg;
	struct srv_records r;

	build_ok(ZONE_MIN
		 "record = ns1 A 127.0.0.1\n"
		 "record = ns1 300 AAAA ::1\n"
		 "record = auth.example.test. CAA 0 issue \"letsencrypt.org\"\n"
		 "record = @ MX 10 Mail\n"
		 "record = t TXT \"a;b\" \"c # d\" # comment\n"
		 "[zone]\n"
		 "default_ttl = 120\n",
		 &cfg, &r);
	assert_int_equal(r.n, 6);
	/* the generated apex NS, then the lines in order */
	EXPECT(&r, 0, APEX "\0", 2, 120, "\x03ns1" APEX "\0", 0);
	assert_null(r.files[0]);
	EXPECT(&r, 1, "\x03ns1" APEX "\0", 1, 120, "\x7f\0\0\x01", 5);
	assert_string_equal(r.files[1], "t.conf");
	EXPECT(&r, 2, "\x03ns1" APEX "\0", 28, 300,
	       "\0\0\0\0\0\0\0\0\0\0\0\0\0\0\0\x01", 6);
	EXPECT(&r, 3, APEX "\0", 257, 120, "\0\x05issueletsencrypt.org", 7);
	/* uncompressed, case preserved */
	EXPECT(&r, 4, APEX "\0", 15, 120, "\0\x0a\x04Mail" APEX "\0", 8);
	EXPECT(&r, 5, "\x01t" APEX "\0", 16, 120,
	       "\x03"
	       "a;b"
	       "\x05"
	       "c # d",
	       9);
	srv_records_free(&r);
	srv_config_free(cfg);
}

static void
test_env_records(void **state)
{
	(void)state;
	char *env[] = {"ACMEDNS_ZONE_RECORD=x TXT \"p;q\"\ny A 192.0.2.1",
		       NULL};
	struct srv_config *cfg = NULL;
	struct srv_records r;
	char err[512] = "";
	const char *text = ZONE_MIN "record = z A 192.0.2.2\n";

	assert_int_equal(srv_config_load_buf("t.conf", text, strlen(text), env,
					     &cfg, err, sizeof(err)),
			 0);
	assert_int_equal(srv_records_build(cfg, &r, err, sizeof(err)), 0);
	assert_int_equal(r.n, 3);
	EXPECT(&r, 1, "\x01x" APEX "\0", 16, 3600, "\x03p;q", 0);
	assert_string_equal(r.files[1], "env ACMEDNS_ZONE_RECORD");
	EXPECT(&r, 2, "\x01y" APEX "\0", 1, 3600, "\xc0\0\x02\x01", 0);
	srv_records_free(&r);
	srv_config_free(cfg);

	char *bad[] = {"ACMEDNS_ZONE_RECORD=x A nope", NULL};
	assert_int_equal(srv_config_load_buf("t.conf", ZONE_MIN,
					     strlen(ZONE_MIN), bad, &cfg, err,
					     sizeof(err)),
			 0);
	assert_int_not_equal(srv_records_build(cfg, &r, err, sizeof(err)), 0);
	assert_string_equal(err, "env ACMEDNS_ZONE_RECORD: record: Syntax "
				 "error, could not parse the RR's rdata");
	srv_config_free(cfg);
}

static void
test_bad_records(void **state)
{
	(void)state;
	build_fails(ZONE_MIN "record = ns1 A 192.0.2.1\n"
			     "record = ns1 A 300.1.1.1\n",
		    "t.conf:6: record: Syntax error, could not parse the "
		    "RR's rdata");
	build_fails(ZONE_MIN "record = ns1 A\n",
		    "t.conf:5: record: Syntax error, value expected");
	build_fails(ZONE_MIN "record = ns1 A 192.0.2.1\nrecord = \"ns1\n",
		    "t.conf:6: record: Syntax error, could not parse the "
		    "RR's TTL");
	build_fails(ZONE_MIN "record = ns1 A 192.0.2.1 extra\n",
		    "t.conf:5: record: Syntax error, superfluous text present");
	build_fails(ZONE_MIN "\n# c\nrecord = www.example.net. A 192.0.2.1\n",
		    "t.conf:7: record: owner www.example.net. is outside the "
		    "zone auth.example.test.");
	build_fails(ZONE_MIN "record = example.test. A 192.0.2.1\n",
		    "t.conf:5: record: owner example.test. is outside the "
		    "zone auth.example.test.");
	build_fails(ZONE_MIN "record = ns1 CH TXT \"x\"\n",
		    "t.conf:5: record: only class IN is served");
	build_fails(ZONE_MIN "record = @ SOA a b 1 2 3 4 5\n",
		    "t.conf:5: record: SOA is generated from the [zone] "
		    "settings; remove it");
}

static void
test_zone_file(void **state)
{
	(void)state;
	struct srv_config *cfg;
	struct srv_records r;

	build_ok(ZONE_MIN "record = ns1 A 127.0.0.1\n"
			  "file = " CFG_DATA_DIR "/static.zone\n",
		 &cfg, &r);
	/* NS, ns1, then the file without its SOA */
	assert_int_equal(r.n, 6);
	EXPECT(&r, 2, "\x03www" APEX "\0", 1, 60, "\xc0\0\x02\x01", 4);
	assert_string_equal(r.files[2], CFG_DATA_DIR "/static.zone");
	EXPECT(&r, 3, "\x03www" APEX "\0", 28, 60,
	       "\x20\x01\x0d\xb8\0\0\0\0\0\0\0\0\0\0\0\x01", 5);
	EXPECT(&r, 4, "\x04mail" APEX "\0", 15, 300,
	       "\0\x0a\x02mx\x07"
	       "example\x03net\0",
	       7);
	EXPECT(&r, 5, "\x03txt\x03sub" APEX "\0", 16, 60,
	       "\x0a"
	       "semi;colon"
	       "\x0b"
	       "hash # mark",
	       9);
	srv_records_free(&r);
	srv_config_free(cfg);

	build_fails(ZONE_MIN "file = " CFG_DATA_DIR "/bad.zone\n",
		    CFG_DATA_DIR "/bad.zone:4: Syntax error, could not parse "
				 "the RR's rdata");
	build_fails(ZONE_MIN "file = " CFG_DATA_DIR "/outside.zone\n",
		    CFG_DATA_DIR "/outside.zone:2: record: owner "
				 "www.example.net. is outside the zone "
				 "auth.example.test.");
	build_fails(ZONE_MIN "file = " CFG_DATA_DIR "/chaos.zone\n",
		    CFG_DATA_DIR "/chaos.zone:1: record: only class IN is "
				 "served");
	build_fails(ZONE_MIN "file = " CFG_DATA_DIR "/missing.zone\n",
		    CFG_DATA_DIR "/missing.zone: cannot open: No such file or "
				 "directory");
}

static struct zone *
new_zone(const struct srv_config *cfg)
{
	struct zone *z = NULL;
	struct zone_params zp = {
	    .domain = cfg->domain,
	    .nsadmin = cfg->nsadmin,
	    .mname = cfg->nsname,
	    .soa_ttl = cfg->soa_ttl,
	    .refresh = cfg->refresh,
	    .retry = cfg->retry,
	    .expire = cfg->expire,
	    .minimum = cfg->minimum,
	    .serial = 1,
	    .edns_size = 1232,
	    .txt_ttl = 1,
	};
	assert_int_equal(zone_create(&zp, &z), 0);
	return z;
}

static void
test_zone_load_static(void **state)
{
	(void)state;
	struct srv_config *cfg = load(ZONE_MIN "record = ns1 A 127.0.0.1\n"
					       "record = www CNAME ns1\n"
					       "record = www A 192.0.2.1\n");
	struct zone *z = new_zone(cfg);
	char err[512] = "";

	assert_int_not_equal(srv_zone_load_static(z, cfg, err, sizeof(err)), 0);
	/* either of the two conflicting lines is a fair culprit */
	if (strcmp(err, "t.conf:6: record: CNAME and other data at the same "
			"name") != 0 &&
	    strcmp(err, "t.conf:7: record: CNAME and other data at the same "
			"name") != 0)
		fail_msg("got '%s'", err);
	srv_config_free(cfg);

	cfg = load(ZONE_MIN "\nrecord = sub NS ns.example.net.\n");
	assert_int_not_equal(srv_zone_load_static(z, cfg, err, sizeof(err)), 0);
	assert_string_equal(err, "t.conf:6: record: NS below the apex "
				 "(delegation) is not supported");
	srv_config_free(cfg);

	/* the sample configuration installs cleanly */
	cfg = NULL;
	assert_int_equal(
	    srv_config_load(CFG_SAMPLE, no_env, &cfg, err, sizeof(err)), 0);
	if (srv_zone_load_static(z, cfg, err, sizeof(err)) != 0)
		fail_msg("%s", err);
	srv_config_free(cfg);
	zone_free(z);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_config_records),
	    cmocka_unit_test(test_env_records),
	    cmocka_unit_test(test_bad_records),
	    cmocka_unit_test(test_zone_file),
	    cmocka_unit_test(test_zone_load_static),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
