// SPDX-License-Identifier: Apache-2.0
// oci/digest: validation, its error messages, formatting and hashing.
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include <cmocka.h>

#include "oci/digest.h"
#include "util/err.h"

#define HEX_EMPTY "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855"
#define HEX_ABC "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad"
#define D_EMPTY "sha256:" HEX_EMPTY

static void test_valid(void **state)
{
	(void)state;
	assert_true(oci_digest_valid(D_EMPTY));
	assert_true(oci_digest_valid("sha256:" HEX_ABC));
	assert_true(oci_digest_valid("sha256:0000000000000000000000000000000000000000000000000000000000000000"));
	assert_int_equal(strlen(D_EMPTY), OCI_DIGEST_LEN);
}

static void test_invalid(void **state)
{
	static const char *const bad[] = {
		"",
		"sha256",
		"sha256:",
		"sha256:" HEX_EMPTY "0",                    // 65 hex
		"sha256:e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b85", // 63
		"sha256:E3B0C44298FC1C149AFBF4C8996FB92427AE41E4649B934CA495991B7852B855", // uppercase
		"sha256:g3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855", // non-hex
		"SHA256:" HEX_EMPTY,
		"sha256 :" HEX_EMPTY,
		" sha256:" HEX_EMPTY,
		"sha256:" HEX_EMPTY " ",
		"sha256:" HEX_EMPTY "\n",
		"sha512:" HEX_EMPTY HEX_EMPTY,
		"md5:d41d8cd98f00b204e9800998ecf8427e",
		HEX_EMPTY,
	};

	(void)state;
	assert_false(oci_digest_valid(NULL));
	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		struct err e = { 0 };

		if (oci_digest_valid(bad[i]))
			fail_msg("accepted bad digest \"%s\"", bad[i]);
		assert_int_equal(oci_digest_check(bad[i], ERR_USAGE, &e), -1);
		assert_int_equal(e.cls, ERR_USAGE);
		assert_non_null(strstr(e.msg, "digest"));
		assert_null(strchr(e.msg, '\n'));
	}
}

static void test_check_ok_leaves_err(void **state)
{
	struct err e = { 0 };

	(void)state;
	assert_int_equal(oci_digest_check(D_EMPTY, ERR_INTEGRITY, &e), 0);
	assert_int_equal(e.cls, ERR_NONE);
}

static void test_check_class(void **state)
{
	struct err e = { 0 };

	(void)state;
	assert_int_equal(oci_digest_check("sha256:abc", ERR_INTEGRITY, &e), -1);
	assert_int_equal(e.cls, ERR_INTEGRITY);
	// ERR_NONE would read as success to the caller's exit code.
	assert_int_equal(oci_digest_check("sha256:abc", ERR_NONE, &e), -1);
	assert_int_equal(e.cls, ERR_USAGE);
	assert_int_equal(oci_digest_check(NULL, ERR_USAGE, &e), -1);
	assert_string_equal(e.msg, "empty digest");
}

static void test_check_messages(void **state)
{
	struct err e = { 0 };

	(void)state;
	oci_digest_check("sha512:" HEX_EMPTY HEX_EMPTY, ERR_USAGE, &e);
	assert_string_equal(e.msg, "unsupported digest algorithm \"sha512\" (only sha256 is supported)");
	oci_digest_check("md5:x", ERR_USAGE, &e);
	assert_non_null(strstr(e.msg, "unsupported digest algorithm \"md5\""));
	oci_digest_check("sha256+b64u:abc", ERR_USAGE, &e);
	assert_non_null(strstr(e.msg, "unsupported digest algorithm \"sha256+b64u\""));

	// Syntactically bad algorithms are malformed, not unsupported.
	oci_digest_check("SHA256:" HEX_EMPTY, ERR_USAGE, &e);
	assert_non_null(strstr(e.msg, "invalid digest \"SHA256:"));
	oci_digest_check("sha-:abc", ERR_USAGE, &e);
	assert_non_null(strstr(e.msg, "invalid digest"));
	oci_digest_check(":abc", ERR_USAGE, &e);
	assert_non_null(strstr(e.msg, "invalid digest"));

	oci_digest_check("sha256:abc", ERR_USAGE, &e);
	assert_string_equal(e.msg, "invalid digest \"sha256:abc\" (want \"sha256:\" and 64 lowercase hex digits)");
	oci_digest_check("nocolon", ERR_USAGE, &e);
	assert_non_null(strstr(e.msg, "invalid digest \"nocolon\""));
}

static void test_check_hostile_text(void **state)
{
	char big[4096];
	struct err e = { 0 };

	(void)state;
	// Control bytes are escaped, so a header value cannot inject terminal
	// sequences or a second line into the message.
	oci_digest_check("sha256:\x1b[31m\r\nX", ERR_INTEGRITY, &e);
	assert_non_null(strstr(e.msg, "\\x1b[31m\\x0d\\x0aX"));
	assert_null(strchr(e.msg, '\x1b'));
	oci_digest_check("a\"b", ERR_USAGE, &e);
	assert_non_null(strstr(e.msg, "\"a\\\"b\""));

	// A huge value is shortened, and the explanation survives.
	memset(big, 'a', sizeof(big) - 1);
	big[sizeof(big) - 1] = '\0';
	memcpy(big, "sha256:", 7);
	oci_digest_check(big, ERR_USAGE, &e);
	assert_non_null(strstr(e.msg, "...\" (want"));
	assert_true(strlen(e.msg) < 300);
}

static void test_hex(void **state)
{
	(void)state;
	assert_string_equal(oci_digest_hex(D_EMPTY), HEX_EMPTY);
	assert_ptr_equal(oci_digest_hex(D_EMPTY), D_EMPTY + 7);
	// Defined on anything, never points past the end.
	assert_string_equal(oci_digest_hex("nocolon"), "nocolon");
	assert_string_equal(oci_digest_hex("x:"), "");
}

static void test_format(void **state)
{
	unsigned char raw[32];
	char out[OCI_DIGEST_LEN + 1];

	(void)state;
	for (size_t i = 0; i < sizeof(raw); i++)
		raw[i] = (unsigned char)(i * 8 + 7);
	memset(out, 'Z', sizeof(out));
	oci_digest_format(out, raw);
	assert_string_equal(out,
			    "sha256:070f171f272f373f474f575f676f777f878f979fa7afb7bfc7cfd7dfe7eff7ff");
	assert_true(oci_digest_valid(out));

	memset(raw, 0, sizeof(raw));
	raw[31] = 0xff;
	oci_digest_format(out, raw);
	assert_string_equal(out,
			    "sha256:00000000000000000000000000000000000000000000000000000000000000ff");
}

static void test_of(void **state)
{
	char out[OCI_DIGEST_LEN + 1];
	static char big[1 << 20];

	(void)state;
	oci_digest_of(out, "", 0);
	assert_string_equal(out, D_EMPTY);
	oci_digest_of(out, NULL, 0);
	assert_string_equal(out, D_EMPTY);
	oci_digest_of(out, "abc", 3);
	assert_string_equal(out, "sha256:" HEX_ABC);
	// Length is honoured, not NUL-termination.
	oci_digest_of(out, "abcdef", 3);
	assert_string_equal(out, "sha256:" HEX_ABC);
	oci_digest_of(out, "abcdbcdecdefdefgefghfghighijhijkijkljklmklmnlmnomnopnopq", 56);
	assert_string_equal(out,
			    "sha256:248d6a61d20638b8e5c026930c3e6039a33ce45964ff2167f6ecedd419db06c1");
	memset(big, 'a', 1000000);
	oci_digest_of(out, big, 1000000);
	assert_string_equal(out,
			    "sha256:cdc76e5c9914fb9281a1c7e284d73e67f1809a48a497200e046d39ccc7112cd0");
	assert_true(oci_digest_valid(out));
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_valid),
		cmocka_unit_test(test_invalid),
		cmocka_unit_test(test_check_ok_leaves_err),
		cmocka_unit_test(test_check_class),
		cmocka_unit_test(test_check_messages),
		cmocka_unit_test(test_check_hostile_text),
		cmocka_unit_test(test_hex),
		cmocka_unit_test(test_format),
		cmocka_unit_test(test_of),
	};

	return cmocka_run_group_tests_name("unit_digest", tests, NULL, NULL);
}
