/* SPDX-License-Identifier: MIT */
/*
 * Engine scenarios, faults (RFC 8555 §6.5, §6.6, §6.7): badNonce at 50%
 * and in a streak of ten, 429 with Retry-After, 503, transport failures
 * with backoff, invalid challenges up to ACME_ENGINE_MAX_FAILS, order
 * expiry, and garbage from the CA (truncated JSON, wrong types, a 2 MiB
 * body) -- each must end in a clear error or a certificate, never in a
 * crash, a busy loop or a second account.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "acme/engine.h"
#include "common/errors.h"
#include "tests/scenarios/world.h"

static const char *const one[] = {"www.example.com"};

static struct world *
start(const struct fakeca_cfg *cc, uint64_t seed, const struct fakeca_fault *f,
      size_t nf, char *id)
{
	struct world *w = world_new(cc, seed);
	for (size_t i = 0; i < nf; i++)
		fakeca_fault_add(w->ca, &f[i]);
	world_id((unsigned)seed, id);
	assert_int_equal(world_engine_new(w), 0);
	assert_int_equal(world_add(w, id, "sub1", one, 1, true), 0);
	acme_engine_start(w->e);
	return w;
}

static void
finish(struct world *w)
{
	assert_int_equal(w->nviolations, 0);
	world_free(w);
}

static void
assert_valid_once(struct world *w, const char *id)
{
	assert_int_equal(world_cert_check(world_domain(w, id), one, 1, NULL),
			 0);
	assert_int_equal(fakeca_naccounts(w->ca), 1);
	assert_int_equal(world_txt_total(w), 0);
}

/* Run until the domain is valid, within limit (ms), then as above. */
static void
run_valid_once(struct world *w, const char *id, uint64_t limit)
{
	assert_int_equal(world_run_status(w, id, ACME_DS_VALID, limit), W_COND);
	assert_valid_once(w, id);
}

static void
test_badnonce_half(void **state)
{
	struct fakeca_cfg cc;
	char id[ACME_ID_LEN + 1];
	struct world *w;
	(void)state;
	fakeca_cfg_default(&cc);
	cc.badnonce_pct = 50;
	w = start(&cc, 21, NULL, 0, id);
	run_valid_once(w, id, 10 * W_MIN);
	assert_true(fakeca_badnonces(w->ca) >= 3);
	assert_int_equal(fakeca_norders(w->ca), 1);
	/* retried at once, not backed off: well under a minute */
	assert_true(w->now - W_T0 < 60 * W_SEC);
	finish(w);
}

static void
test_badnonce_streak(void **state)
{
	struct fakeca_cfg cc;
	char id[ACME_ID_LEN + 1];
	struct world *w;
	(void)state;
	fakeca_cfg_default(&cc);
	cc.badnonce_next = 10;
	w = start(&cc, 22, NULL, 0, id);
	run_valid_once(w, id, 10 * W_MIN);
	assert_int_equal(fakeca_badnonces(w->ca), 10);
	assert_int_equal(fakeca_norders(w->ca), 1);
	assert_int_equal(world_domain(w, id)->failures, 0);
	assert_true(w->now - W_T0 < 60 * W_SEC);
	finish(w);
}

static void
test_rate_limited_retry_after(void **state)
{
	struct fakeca_fault f = {.ep = FEP_NEWORDER,
				 .kind = FK_STATUS,
				 .count = 1,
				 .status = 429,
				 .type = "rateLimited",
				 .detail = "too many new orders",
				 .retry_after_s = 120};
	char id[ACME_ID_LEN + 1];
	const struct fakeca_req *a, *b;
	struct world *w = start(NULL, 23, &f, 1, id);
	(void)state;
	run_valid_once(w, id, 30 * W_MIN);
	a = world_req(w, FEP_NEWORDER, 0);
	b = world_req(w, FEP_NEWORDER, 1);
	assert_non_null(a);
	assert_non_null(b);
	assert_int_equal(a->status, 429);
	/* Retry-After: 120 is honoured to the second (§6.6) */
	if (b->t_ms - a->t_ms < 120 * W_SEC)
		fail_msg("retried after %llu ms",
			 (unsigned long long)(b->t_ms - a->t_ms));
	assert_true(b->t_ms - a->t_ms < 10 * W_MIN);
	assert_int_equal(fakeca_count(w->ca, FEP_NEWORDER), 2);
	assert_int_equal(fakeca_norders(w->ca), 1);
	finish(w);
}

static void
test_503_then_success(void **state)
{
	struct fakeca_fault f[] = {
	    {.ep = FEP_NEWORDER,
	     .kind = FK_STATUS,
	     .count = 1,
	     .status = 503,
	     .type = "serverInternal",
	     .detail = "maintenance"},
	    {.ep = FEP_AUTHZ,
	     .kind = FK_STATUS,
	     .count = 1,
	     .status = 500,
	     .type = "serverInternal",
	     .detail = "oops"},
	};
	char id[ACME_ID_LEN + 1];
	struct world *w = start(NULL, 24, f, 2, id);
	(void)state;
	run_valid_once(w, id, 30 * W_MIN);
	assert_int_equal(fakeca_fault_get(w->ca, 0)->applied, 1);
	assert_int_equal(fakeca_fault_get(w->ca, 1)->applied, 1);
	assert_int_equal(fakeca_count(w->ca, FEP_NEWORDER), 2);
	assert_int_equal(fakeca_norders(w->ca), 1);
	assert_int_not_equal(world_domain(w, id)->status, ACME_DS_INVALID);
	finish(w);
}

static void
test_transport_backoff(void **state)
{
	struct fakeca_fault f = {
	    .ep = FEP_DIR, .kind = FK_TRANSPORT, .count = 5};
	char id[ACME_ID_LEN + 1];
	uint64_t t[6], first_gap, max_gap = 0;
	struct world *w = start(NULL, 25, &f, 1, id);
	(void)state;
	w->http_start_fail = 1; /* and the very first request cannot start */
	run_valid_once(w, id, 2 * W_HOUR);
	assert_int_equal(fakeca_count(w->ca, FEP_DIR), 6);
	for (unsigned i = 0; i < 6; i++)
		t[i] = world_req(w, FEP_DIR, i)->t_ms;
	first_gap = t[1] - t[0];
	for (unsigned i = 1; i < 6; i++) {
		uint64_t g = t[i] - t[i - 1];
		/* backoff from ~1 s, never a busy retry */
		if (g < 500)
			fail_msg("retry %u after %llu ms", i,
				 (unsigned long long)g);
		if (g > max_gap)
			max_gap = g;
	}
	/* doubling: later waits are clearly longer than the first */
	assert_true(max_gap >= 3 * first_gap);
	assert_true(t[5] - t[0] < 30 * W_MIN);
	finish(w);
}

static void
test_invalid_challenge(void **state)
{
	struct fakeca_fault f = {.kind = FK_CHALL_INVALID,
				 .count = 1000,
				 .type = "incorrectResponse",
				 .detail = "scripted refusal 8c1f"};
	char id[ACME_ID_LEN + 1];
	const struct acme_domain *d;
	struct world *w = start(NULL, 26, &f, 1, id);
	(void)state;
	assert_int_equal(world_run_status(w, id, ACME_DS_INVALID, 7 * W_DAY),
			 W_COND);
	d = world_domain(w, id);
	/* the CA's problem detail reaches the user */
	assert_non_null(d->error);
	assert_non_null(strstr(d->error, "scripted refusal 8c1f"));
	/* and its subproblem (RFC 8555 §6.7.1) */
	assert_non_null(strstr(d->error, "SERVFAIL"));
	assert_int_equal(d->failures, ACME_ENGINE_MAX_FAILS);
	/* one order per attempt, each validated once */
	assert_int_equal(fakeca_norders(w->ca), ACME_ENGINE_MAX_FAILS);
	assert_int_equal(fakeca_fault_get(w->ca, 0)->applied,
			 ACME_ENGINE_MAX_FAILS);
	assert_null(d->cert_pem);
	assert_int_equal(world_txt_total(w), 0);
	assert_int_equal(world_persisted(w, id)->status, ACME_DS_INVALID);
	/* and it stays given up */
	assert_int_equal(world_run(w, NULL, NULL, 2 * W_DAY), W_TIME);
	assert_int_equal(fakeca_norders(w->ca), ACME_ENGINE_MAX_FAILS);
	finish(w);
}

static void
test_order_expiry(void **state)
{
	struct fakeca_cfg cc;
	struct fakeca_fault f = {.kind = FK_CHALL_STALL, .count = 1};
	char id[ACME_ID_LEN + 1];
	const struct fakeca_req *r;
	struct world *w;
	(void)state;
	fakeca_cfg_default(&cc);
	cc.order_lifetime_s = 3600;
	w = start(&cc, 27, &f, 1, id);
	run_valid_once(w, id, W_DAY);
	/* the stalled order expired after an hour; a new one worked */
	assert_int_equal(fakeca_norders(w->ca), 2);
	assert_string_equal(fakeca_order_status(w->ca, 0), "invalid");
	r = world_req(w, FEP_NEWORDER, 1);
	assert_non_null(r);
	assert_true(r->t_ms >= W_T0 + W_HOUR);
	assert_true(r->t_ms <= W_T0 + 2 * W_HOUR);
	finish(w);
}

static bool
cond_any_error(struct world *w, void *arg)
{
	(void)arg;
	return w->nerrors > 0 || w->neng_errors > 0;
}

static void
garbage_case(uint64_t seed, enum fakeca_ep ep, enum fakeca_fault_kind kind,
	     unsigned count, bool raw)
{
	struct fakeca_fault f = {.ep = ep,
				 .kind = kind,
				 .count = count,
				 .method = ep == FEP_DIR ? "GET" : "POST"};
	char id[ACME_ID_LEN + 1];
	struct world *w = world_new(NULL, seed);
	fakeca_fault_add(w->ca, &f);
	w->no_body_cap = raw;
	world_id((unsigned)seed, id);
	assert_int_equal(world_engine_new(w), 0);
	assert_int_equal(world_add(w, id, "sub1", one, 1, true), 0);
	acme_engine_start(w->e);
	/* a clear error first ... */
	if (world_run(w, cond_any_error, NULL, W_HOUR) != W_COND)
		fail_msg("no error shown for %s garbage on %s",
			 kind == FK_TRUNCATE      ? "truncated"
			 : kind == FK_WRONG_TYPES ? "wrong-type"
						  : "huge",
			 fakeca_ep_name(ep));
	/* ... then recovery once the CA behaves */
	assert_int_equal(world_run_status(w, id, ACME_DS_VALID, W_DAY), W_COND);
	assert_int_equal(fakeca_fault_get(w->ca, 0)->applied, count);
	assert_valid_once(w, id);
	finish(w);
}

static void
test_garbage(void **state)
{
	(void)state;
	garbage_case(30, FEP_DIR, FK_TRUNCATE, 2, false);
	garbage_case(31, FEP_DIR, FK_WRONG_TYPES, 1, false);
	garbage_case(32, FEP_NEWORDER, FK_WRONG_TYPES, 1, false);
	garbage_case(33, FEP_NEWORDER, FK_TRUNCATE, 1, false);
	garbage_case(34, FEP_AUTHZ, FK_WRONG_TYPES, 1, false);
	garbage_case(35, FEP_AUTHZ, FK_HUGE, 1, false); /* host cap */
	garbage_case(36, FEP_ORDER, FK_HUGE, 1, true);  /* 2 MiB given */
	garbage_case(37, FEP_CERT, FK_TRUNCATE, 1, false);
	garbage_case(38, FEP_NEWACCT, FK_WRONG_TYPES, 1, false);
}

static void
test_processing_retry_after(void **state)
{
	struct fakeca_cfg cc;
	char id[ACME_ID_LEN + 1];
	size_t fin, n;
	uint64_t prev;
	unsigned polls = 0;
	struct world *w;
	(void)state;
	fakeca_cfg_default(&cc);
	cc.processing_ms = 30000;
	cc.processing_retry_after_s = 10;
	w = start(&cc, 28, NULL, 0, id);
	run_valid_once(w, id, 10 * W_MIN);
	/* after finalize, the order is polled as Retry-After says */
	fin = fakeca_find(w->ca, FEP_FINALIZE, 0);
	assert_true(fin != SIZE_MAX);
	prev = fakeca_req_at(w->ca, fin)->t_ms;
	n = fakeca_nreq(w->ca);
	for (size_t i = fin + 1; i < n; i++) {
		const struct fakeca_req *r = fakeca_req_at(w->ca, i);
		if (r->ep != FEP_ORDER)
			continue;
		if (r->t_ms - prev < 10 * W_SEC)
			fail_msg("order polled %llu ms after the last",
				 (unsigned long long)(r->t_ms - prev));
		prev = r->t_ms;
		polls++;
	}
	assert_true(polls >= 3 && polls <= 5);
	finish(w);
}

static void
test_txt_add_failure(void **state)
{
	char id[ACME_ID_LEN + 1];
	struct world *w = world_new(NULL, 29);
	(void)state;
	/* the zone refuses the first value: a clear error, then recovery */
	w->txt_add_fail = 1;
	world_id(29, id);
	assert_int_equal(world_engine_new(w), 0);
	assert_int_equal(world_add(w, id, "sub1", one, 1, true), 0);
	acme_engine_start(w->e);
	assert_int_equal(world_run_status(w, id, ACME_DS_VALID, W_DAY), W_COND);
	assert_int_equal(w->txt_add_fail, 0);
	assert_true(w->nerrors >= 1);
	assert_valid_once(w, id);
	assert_null(world_domain(w, id)->error);
	assert_int_equal(world_domain(w, id)->failures, 0);
	finish(w);
}

/* One response lost after the CA acted on the request (a timeout). */
static struct world *
lost_case(uint64_t seed, enum fakeca_ep ep, char *id, bool strict)
{
	struct fakeca_fault f = {
	    .ep = ep, .kind = FK_LOST, .count = 1, .method = "POST"};
	struct fakeca_cfg cc;
	struct world *w;
	fakeca_cfg_default(&cc);
	cc.strict_chall_post = strict;
	w = start(&cc, seed, &f, 1, id);
	assert_int_equal(world_run_status(w, id, ACME_DS_VALID, W_DAY), W_COND);
	assert_int_equal(fakeca_fault_get(w->ca, 0)->applied, 1);
	assert_valid_once(w, id);
	return w;
}

static void
test_lost_responses(void **state)
{
	char id[ACME_ID_LEN + 1];
	struct world *w;
	(void)state;
	/* newAccount acted on: found again, never a second account */
	w = lost_case(70, FEP_NEWACCT, id, false);
	finish(w);
	/* the challenge answer acted on: validation goes on (a CA that
	 * treats the repeated answer as a no-op, like Boulder) */
	w = lost_case(72, FEP_CHALL, id, false);
	assert_int_equal(fakeca_norders(w->ca), 1);
	finish(w);
	/* a CA that refuses the repeated answer (Pebble): still a
	 * certificate, at worst through one more order */
	w = lost_case(75, FEP_CHALL, id, true);
	assert_true(fakeca_norders(w->ca) <= 2);
	finish(w);
	/* an order created but never heard of: a second order is fine */
	w = lost_case(73, FEP_NEWORDER, id, false);
	assert_true(fakeca_norders(w->ca) <= 2);
	finish(w);
	/* the certificate download lost: fetched again */
	w = lost_case(74, FEP_CERT, id, false);
	assert_int_equal(fakeca_ncerts(w->ca), 1);
	finish(w);
}

static void
test_lost_finalize(void **state)
{
	char id[ACME_ID_LEN + 1];
	struct world *w;
	(void)state;
	/* finalize acted on, answer lost: the retry meets orderNotReady
	 * (RFC 8555 §7.4); the engine must fetch the order, which is
	 * processing or valid, instead of ordering again: one certificate,
	 * not two (a second one counts against duplicate-certificate rate
	 * limits) */
	w = lost_case(71, FEP_FINALIZE, id, false);
	assert_int_equal(fakeca_norders(w->ca), 1);
	assert_int_equal(fakeca_ncerts(w->ca), 1);
	assert_int_equal(world_domain(w, id)->failures, 0);
	finish(w);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test_teardown(test_badnonce_half, world_free_all),
	    cmocka_unit_test_teardown(test_badnonce_streak, world_free_all),
	    cmocka_unit_test_teardown(test_rate_limited_retry_after,
				      world_free_all),
	    cmocka_unit_test_teardown(test_503_then_success, world_free_all),
	    cmocka_unit_test_teardown(test_transport_backoff, world_free_all),
	    cmocka_unit_test_teardown(test_invalid_challenge, world_free_all),
	    cmocka_unit_test_teardown(test_order_expiry, world_free_all),
	    cmocka_unit_test_teardown(test_garbage, world_free_all),
	    cmocka_unit_test_teardown(test_processing_retry_after,
				      world_free_all),
	    cmocka_unit_test_teardown(test_txt_add_failure, world_free_all),
	    cmocka_unit_test_teardown(test_lost_responses, world_free_all),
	    cmocka_unit_test_teardown(test_lost_finalize, world_free_all),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
