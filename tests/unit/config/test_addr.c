/* SPDX-License-Identifier: MIT */
/*
 * Unit tests of listen addresses and CIDRs (server/config.c):
 * srv_addr_parse, srv_cidr_parse against the cases of Go's
 * net.ParseCIDR (acme-dns allowfrom compatibility), and srv_cidr_match
 * with Go's IPNet.Contains semantics for IPv4-mapped IPv6.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>

#include <cmocka.h>

#include "server/config.h"

#include <arpa/inet.h>
#include <netinet/in.h>

static void
test_addr_parse(void **state)
{
	(void)state;
	static const struct {
		const char *in, *text;
		int family;
		unsigned port;
	} good[] = {
	    {"127.0.0.1:5353", "127.0.0.1:5353", AF_INET, 5353},
	    {"0.0.0.0:53", "0.0.0.0:53", AF_INET, 53},
	    {"255.255.255.255:65535", "255.255.255.255:65535", AF_INET, 65535},
	    {"[::1]:53", "[::1]:53", AF_INET6, 53},
	    {"[::]:53", "[::]:53", AF_INET6, 53},
	    {"[2001:DB8:0::1]:1", "[2001:db8::1]:1", AF_INET6, 1},
	    {"[::ffff:192.0.2.1]:53", "[::ffff:192.0.2.1]:53", AF_INET6, 53},
	};
	static const char *const bad[] = {
	    "",
	    "127.0.0.1",
	    "127.0.0.1:",
	    "127.0.0.1:0",
	    "127.0.0.1:65536",
	    "127.0.0.1:5a",
	    "127.0.0.1:+53",
	    "127.0.0.1:000053",
	    ":53",
	    "01.2.3.4:53",
	    "1.2.3:53",
	    "256.1.1.1:53",
	    "localhost:53",
	    "::1:53",
	    "[::1]53",
	    "[::1]",
	    "[::1]:",
	    "[1.2.3.4]:53",
	    "[fe80::1%lo]:53",
	    " 127.0.0.1:53",
	};

	for (size_t i = 0; i < sizeof(good) / sizeof(good[0]); i++) {
		struct srv_addr a;
		if (srv_addr_parse(good[i].in, &a) != 0)
			fail_msg("'%s' rejected", good[i].in);
		assert_string_equal(a.text, good[i].text);
		assert_int_equal(a.ss.ss_family, good[i].family);
		if (good[i].family == AF_INET) {
			const struct sockaddr_in *s = (void *)&a.ss;
			assert_int_equal(a.len, sizeof(*s));
			assert_int_equal(ntohs(s->sin_port), good[i].port);
		} else {
			const struct sockaddr_in6 *s = (void *)&a.ss;
			assert_int_equal(a.len, sizeof(*s));
			assert_int_equal(ntohs(s->sin6_port), good[i].port);
		}
	}
	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		struct srv_addr a;
		if (srv_addr_parse(bad[i], &a) == 0)
			fail_msg("'%s' accepted", bad[i]);
	}
}

/* Valid and invalid inputs, mirroring Go's net.ParseCIDR (ip_test.go). */
static void
test_cidr_parse(void **state)
{
	(void)state;
	static const struct {
		const char *in;
		int family;
		const char *net; /* masked network, in inet_ntop form */
		unsigned prefix;
	} good[] = {
	    {"135.104.0.0/32", AF_INET, "135.104.0.0", 32},
	    {"0.0.0.0/24", AF_INET, "0.0.0.0", 24},
	    {"135.104.0.0/24", AF_INET, "135.104.0.0", 24},
	    {"135.104.0.1/32", AF_INET, "135.104.0.1", 32},
	    {"135.104.0.1/24", AF_INET, "135.104.0.0", 24},
	    {"1.2.3.4/24", AF_INET, "1.2.3.0", 24},
	    {"1.2.3.4/024", AF_INET, "1.2.3.0", 24}, /* Go's dtoi */
	    {"0.0.0.0/0", AF_INET, "0.0.0.0", 0},
	    {"10.255.255.255/9", AF_INET, "10.128.0.0", 9},
	    {"::1/128", AF_INET6, "::1", 128},
	    {"::/0", AF_INET6, "::", 0},
	    {"abcd:2345::/127", AF_INET6, "abcd:2345::", 127},
	    {"abcd:2345::/65", AF_INET6, "abcd:2345::", 65},
	    {"abcd:2345::/33", AF_INET6, "abcd:2345::", 33},
	    {"abcd:2345::/32", AF_INET6, "abcd:2345::", 32},
	    {"abcd:2344::/31", AF_INET6, "abcd:2344::", 31},
	    {"abcd:2345::/31", AF_INET6, "abcd:2344::", 31},
	    {"abcd:2345::/24", AF_INET6, "abcd:2300::", 24},
	    {"2001:DB8::/48", AF_INET6, "2001:db8::", 48},
	    {"2001:DB8::1/48", AF_INET6, "2001:db8::", 48},
	    {"::ffff:1.2.3.4/120", AF_INET6, "::ffff:1.2.3.0", 120},
	    {"::1.2.3.4/128", AF_INET6, "::1.2.3.4", 128},
	};
	static const char *const bad[] = {
	    "",
	    "1.2.3.4",
	    "1.2.3.4/",
	    "1.2.3.4/33",
	    "01.2.3.4/24",
	    "1.02.3.4/24",
	    "1.2.3/24",
	    "1.2.3.4.5/24",
	    "256.0.0.0/8",
	    "1.2.3.4/+24",
	    "1.2.3.4/ 24",
	    " 1.2.3.4/24",
	    "1.2.3.4 /24",
	    "1.2.3.4/24 ",
	    "192.168.1.1/255.255.255.0",
	    "192.168.1.1/35",
	    "2001:db8::1/-1",
	    "2001:db8::1/-0",
	    "-0.0.0.0/32",
	    "0.-1.0.0/32",
	    "0.0.-2.0/32",
	    "0.0.0.-3/32",
	    "0.0.0.0/-0",
	    "::1/129",
	    "[::1]/128",
	    "fe80::1%eth0/64",
	    "12345::/16",
	    "1:2:3:4:5:6:7:8:9/64",
	    "::ffff:01.2.3.4/120",
	    "1.2.3.4::/64",
	    "/24",
	    "1.2.3.4/99999999999999999999",
	};

	for (size_t i = 0; i < sizeof(good) / sizeof(good[0]); i++) {
		struct srv_cidr c;
		char buf[INET6_ADDRSTRLEN];
		if (srv_cidr_parse(good[i].in, &c) != 0)
			fail_msg("'%s' rejected", good[i].in);
		assert_int_equal(c.family, good[i].family);
		assert_int_equal(c.prefix, good[i].prefix);
		assert_string_equal(c.text, good[i].in);
		inet_ntop(c.family, c.addr, buf, sizeof(buf));
		if (strcmp(buf, good[i].net) != 0)
			fail_msg("'%s': network %s, want %s", good[i].in, buf,
				 good[i].net);
	}
	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		struct srv_cidr c;
		if (srv_cidr_parse(bad[i], &c) == 0)
			fail_msg("'%s' accepted", bad[i]);
	}
}

static bool
match(const char *cidr, const char *ip)
{
	struct srv_cidr c;
	struct sockaddr_storage ss = {0};

	assert_int_equal(srv_cidr_parse(cidr, &c), 0);
	if (strchr(ip, ':')) {
		struct sockaddr_in6 *s = (struct sockaddr_in6 *)&ss;
		s->sin6_family = AF_INET6;
		assert_int_equal(inet_pton(AF_INET6, ip, &s->sin6_addr), 1);
	} else {
		struct sockaddr_in *s = (struct sockaddr_in *)&ss;
		s->sin_family = AF_INET;
		assert_int_equal(inet_pton(AF_INET, ip, &s->sin_addr), 1);
	}
	return srv_cidr_match(&c, (const struct sockaddr *)&ss);
}

static void
test_cidr_match(void **state)
{
	(void)state;
	assert_true(match("1.2.3.0/24", "1.2.3.4"));
	assert_true(match("1.2.3.0/24", "1.2.3.255"));
	assert_false(match("1.2.3.0/24", "1.2.4.1"));
	assert_true(match("1.2.3.4/24", "1.2.3.9")); /* host bits set */
	assert_true(match("10.0.0.0/8", "10.200.1.1"));
	assert_false(match("10.0.0.0/8", "11.0.0.1"));
	assert_true(match("192.0.2.7/32", "192.0.2.7"));
	assert_false(match("192.0.2.7/32", "192.0.2.6"));
	assert_true(match("192.0.2.6/31", "192.0.2.7"));
	assert_true(match("0.0.0.0/0", "203.0.113.9"));
	/* an IPv4-mapped client matches IPv4 networks */
	assert_true(match("1.2.3.0/24", "::ffff:1.2.3.4"));
	assert_false(match("1.2.3.0/24", "::ffff:1.2.4.4"));
	assert_true(match("0.0.0.0/0", "::ffff:8.8.8.8"));
	assert_false(match("0.0.0.0/0", "::1"));
	assert_false(match("127.0.0.1/32", "::1"));
	/* an IPv4-mapped network is an IPv4 network (Go's IPNet.Contains) */
	assert_true(match("::ffff:1.2.3.4/120", "1.2.3.99"));
	assert_true(match("::ffff:1.2.3.4/120", "::ffff:1.2.3.99"));
	assert_false(match("::ffff:1.2.3.4/120", "1.2.4.1"));
	/* IPv6 */
	assert_true(match("2001:db8::/32", "2001:db8:1::1"));
	assert_false(match("2001:db8::/32", "2001:db9::1"));
	assert_true(match("::1/128", "::1"));
	assert_false(match("::1/128", "::2"));
	assert_true(match("::/0", "2001:db8::1"));
	assert_false(match("::/0", "1.2.3.4")); /* as in Go */
	assert_false(match("2001:db8::/32", "1.2.3.4"));
	assert_true(match("abcd:2345::/31", "abcd:2344:ffff::1"));

	/* not an IP socket address */
	struct srv_cidr c;
	struct sockaddr sa = {.sa_family = AF_UNIX};
	assert_int_equal(srv_cidr_parse("0.0.0.0/0", &c), 0);
	assert_false(srv_cidr_match(&c, &sa));
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_addr_parse),
	    cmocka_unit_test(test_cidr_parse),
	    cmocka_unit_test(test_cidr_match),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
