/* SPDX-License-Identifier: MIT */
/*
 * Unit tests of the bounds-checked cursor (dnswire/wire.h): reads and writes
 * stop exactly at the end, the first error sticks and turns every later
 * call into a no-op returning zero, and patching never writes past pos.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include <cmocka.h>

#include "dnswire/wire.h"

static void
test_read_exact(void **state)
{
	static const uint8_t buf[] = {0x01, 0x02, 0x03, 0x04, 0x05,
				      0x06, 0x07, 0x08, 0x09};
	struct dw_cur c = dw_reader(buf, sizeof(buf));
	(void)state;

	assert_int_equal(dw_left(&c), 9);
	assert_int_equal(dw_get_u8(&c), 0x01);
	assert_int_equal(dw_get_u16(&c), 0x0203);
	assert_int_equal(dw_get_u32(&c), 0x04050607);
	const uint8_t *p = dw_get_ptr(&c, 2);
	assert_ptr_equal(p, buf + 7);
	assert_int_equal(dw_left(&c), 0);
	assert_int_equal(c.err, 0);
	/* a zero-length read at the end is fine */
	assert_non_null(dw_get_ptr(&c, 0));
	assert_int_equal(c.err, 0);
}

static void
test_read_sticky(void **state)
{
	static const uint8_t buf[] = {0xAA, 0xBB, 0xCC};
	struct dw_cur c = dw_reader(buf, sizeof(buf));
	(void)state;

	assert_int_equal(dw_get_u16(&c), 0xAABB);
	/* u32 with 1 byte left: error, position unchanged, value 0 */
	assert_int_equal(dw_get_u32(&c), 0);
	assert_int_equal(c.err, AD_EMALF);
	assert_int_equal(c.pos, 2);
	/* sticky: a read that would fit now fails too */
	assert_int_equal(dw_get_u8(&c), 0);
	assert_int_equal(c.pos, 2);
	assert_null(dw_get_ptr(&c, 0));
	assert_int_equal(dw_left(&c), 0);
	dw_skip(&c, 1);
	assert_int_equal(c.pos, 2);
	assert_int_equal(c.err, AD_EMALF);
}

static void
test_read_u16_short(void **state)
{
	static const uint8_t buf[] = {0x12};
	struct dw_cur c = dw_reader(buf, sizeof(buf));
	(void)state;
	assert_int_equal(dw_get_u16(&c), 0);
	assert_int_equal(c.err, AD_EMALF);

	c = dw_reader(buf, 0);
	assert_int_equal(dw_get_u8(&c), 0);
	assert_int_equal(c.err, AD_EMALF);

	/* huge n cannot wrap around the bounds check */
	c = dw_reader(buf, sizeof(buf));
	assert_null(dw_get_ptr(&c, SIZE_MAX));
	assert_int_equal(c.err, AD_EMALF);
}

static void
test_write_exact(void **state)
{
	uint8_t buf[9];
	struct dw_cur c = dw_writer(buf, sizeof(buf));
	(void)state;

	dw_put_u8(&c, 0x01);
	dw_put_u16(&c, 0x0203);
	dw_put_u32(&c, 0x04050607);
	dw_put_bytes(&c, "\x08\x09", 2);
	assert_int_equal(c.err, 0);
	assert_int_equal(c.pos, 9);
	assert_memory_equal(buf, "\x01\x02\x03\x04\x05\x06\x07\x08\x09", 9);
	dw_put_bytes(&c, NULL, 0); /* nothing to write: no error */
	assert_int_equal(c.err, 0);
	dw_put_u8(&c, 0xFF);
	assert_int_equal(c.err, AD_ESPACE);
	assert_int_equal(c.pos, 9);
}

static void
test_write_sticky(void **state)
{
	uint8_t buf[8];
	struct dw_cur c = dw_writer(buf, 5);
	(void)state;

	memset(buf, 0xEE, sizeof(buf));
	dw_put_u32(&c, 0x11223344);
	dw_put_u16(&c, 0x5566); /* 1 byte left: fails */
	assert_int_equal(c.err, AD_ESPACE);
	assert_int_equal(c.pos, 4);
	dw_put_u8(&c, 0x77); /* would fit, but the error is sticky */
	assert_int_equal(c.pos, 4);
	assert_int_equal(buf[4], 0xEE);
	dw_put_bytes(&c, "zz", 2);
	assert_int_equal(buf[4], 0xEE);
	/* a read error code does not replace the first one */
	assert_int_equal(dw_get_u8(&c), 0);
	assert_int_equal(c.err, AD_ESPACE);
}

static void
test_patch(void **state)
{
	uint8_t buf[6] = {0};
	struct dw_cur c = dw_writer(buf, sizeof(buf));
	(void)state;

	dw_put_u16(&c, 0);
	dw_put_u16(&c, 0xABCD);
	dw_patch_u16(&c, 0, 0x1234);
	assert_memory_equal(buf, "\x12\x34\xAB\xCD", 4);
	/* beyond what was written: ignored */
	dw_patch_u16(&c, 3, 0xFFFF);
	dw_patch_u16(&c, 4, 0xFFFF);
	assert_memory_equal(buf, "\x12\x34\xAB\xCD\x00\x00", 6);
	assert_int_equal(dw_read_u16_at(buf + 2), 0xABCD);
	/* after an error, patching is a no-op */
	dw_put_u32(&c, 0);
	assert_int_equal(c.err, AD_ESPACE);
	dw_patch_u16(&c, 0, 0);
	assert_memory_equal(buf, "\x12\x34", 2);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_read_exact),
	    cmocka_unit_test(test_read_sticky),
	    cmocka_unit_test(test_read_u16_short),
	    cmocka_unit_test(test_write_exact),
	    cmocka_unit_test(test_write_sticky),
	    cmocka_unit_test(test_patch),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
