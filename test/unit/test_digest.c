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
// SHA-512 of "" and of "abc" (FIPS 180-2 examples).
#define HEX512_EMPTY "cf83e1357eefb8bdf1542850d66d8007d620e4050b5715dc83f4a921d36ce9ce" \
		     "47d0d13c5d85f2b0ff8318d2877eec2f63b931bd47417a81a538327af927da3e"
#define HEX512_ABC "ddaf35a193617abacc417349ae20413112e6fa4e89a97ea20a9eeee64b55d39a" \
		   "2192992a274fc1a836ba3c23a3feebbd454d4423643ce80e2a9ac94fa54ca49f"

static void test_valid(void **state)
{
	(void)state;
	assert_true(oci_digest_valid(D_EMPTY));
	assert_true(oci_digest_valid("sha256:" HEX_ABC));
	assert_true(oci_digest_valid("sha256:0000000000000000000000000000000000000000000000000000000000000000"));
	assert_true(oci_digest_valid("sha512:" HEX512_EMPTY));
	assert_int_equal(strlen("sha512:" HEX512_EMPTY), OCI_DIGEST_LEN);
	assert_string_equal(oci_digest_alg(D_EMPTY), "sha256");
	assert_string_equal(oci_digest_alg("sha512:" HEX512_EMPTY), "sha512");
	assert_int_equal(oci_digest_md_len(D_EMPTY), 32);
	assert_int_equal(oci_digest_md_len("sha512:" HEX512_EMPTY), 64);
	assert_ptr_equal(oci_digest_evp("sha512:" HEX512_EMPTY), EVP_sha512());
	assert_ptr_equal(oci_digest_evp("md5:x"), EVP_sha256());
	unsigned char raw[OCI_DIGEST_MD_MAX];
	size_t n = 0;
	assert_true(oci_digest_raw("sha512:" HEX512_ABC, raw, &n));
	assert_int_equal(n, 64);
	assert_int_equal(raw[0], 0xdd);
	assert_int_equal(raw[63], 0x9f);
	char out[OCI_DIGEST_LEN + 1];
	oci_digest_format_like(out, "sha512:" HEX512_EMPTY, raw);
	assert_string_equal(out, "sha512:" HEX512_ABC);
	assert_true(oci_digest_raw(D_EMPTY, raw, &n));
	assert_int_equal(n, 32);
	assert_false(oci_digest_raw("sha512:" HEX_EMPTY, raw, &n));
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
		"sha512:" HEX_EMPTY,                         // sha256's length
		"sha512:" HEX512_EMPTY "0",
		"sha256:" HEX512_EMPTY,                      // sha512's length
		"sha384:38b060a751ac96384cd9327eb1b1e36a21fdb71114be07434c0cc7bf63f6e1da274edebfe76f65fbd51ad2f14898b95b",
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
	oci_digest_check("sha384:" HEX_EMPTY, ERR_USAGE, &e);
	assert_string_equal(e.msg, "unsupported digest algorithm \"sha384\" (sha256 and sha512 are supported)");
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
	assert_string_equal(e.msg, "invalid digest \"sha256:abc\" (want \"sha256:\" and 64, or \"sha512:\" and 128, "
				   "lowercase hex digits)");
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
	oci_digest_of_like(out, "sha512:" HEX512_EMPTY, "abc", 3);
	assert_string_equal(out, "sha512:" HEX512_ABC);
	oci_digest_of_like(out, "sha512:" HEX512_ABC, "", 0);
	assert_string_equal(out, "sha512:" HEX512_EMPTY);
	oci_digest_of_like(out, "a tag", "abc", 3); // a tag asks for sha256
	assert_string_equal(out, "sha256:" HEX_ABC);
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
