// SPDX-License-Identifier: Apache-2.0
// The protocol-buffer wire rules the gRPC messages imgpull exchanges with
// containerd need (the CRI in cri/, containerd's own API in ctrd/): varints,
// signed 64-bit integers, bools, strings, embedded messages and map entries to
// write requests; a reader that walks an answer's fields, skipping what it does
// not know. Reading trusts nothing: every length is checked against what is
// left, and the pb_get_* helpers cap what they copy.
#ifndef IMGPULL_UTIL_PB_H
#define IMGPULL_UTIL_PB_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "util/buf.h"

enum pb_wire { PB_VARINT = 0, PB_I64 = 1, PB_LEN = 2, PB_I32 = 5 };

#define PB_FIELD_MAX 536870911u // 2^29 - 1

// Writing. Each returns -1 when out's cap is reached (out->toobig).
// A string field (skipped when s is NULL or empty, as proto3 does for defaults).
int pb_put_string(struct buf *out, unsigned field, const char *s);
// A bytes field of len bytes (skipped when len is 0).
int pb_put_bytes(struct buf *out, unsigned field, const void *data, size_t len);
// An embedded message (its encoded bytes; written even when empty, so that a
// message whose fields are all defaults is still present).
int pb_put_message(struct buf *out, unsigned field, const struct buf *msg);
// A varint field, written whatever its value (enums that must be sent).
int pb_put_varint_field(struct buf *out, unsigned field, uint64_t v);
// A bool (skipped when false) and a signed int64 (skipped when 0; a negative
// value takes ten bytes, two's complement, as proto3's int64 does).
int pb_put_bool(struct buf *out, unsigned field, bool v);
int pb_put_int64(struct buf *out, unsigned field, int64_t v);
// One entry of a map<string,string> field: an embedded message {1 key, 2 value},
// both written (even empty), as Go's encoder does.
int pb_put_map_entry(struct buf *out, unsigned field, const char *key, const char *value);

// Reading.
struct pb_reader {
	const unsigned char *p, *end;
};

struct pb_field {
	unsigned number;
	enum pb_wire wire;
	uint64_t varint;           // PB_VARINT (and the fixed ones, little-endian)
	const unsigned char *data; // PB_LEN
	size_t len;
};

void pb_reader_init(struct pb_reader *r, const void *data, size_t len);
// 1 and *f for the next field (any of the wire types 0, 1, 2, 5: the caller
// skips the fields it does not know by ignoring them), 0 at the end, -1 on
// malformed input (a truncated field, a length past the end, field number 0,
// groups, an eleven-byte varint).
int pb_next(struct pb_reader *r, struct pb_field *f);

// A PB_LEN field as a malloc'd string: -1 (nothing allocated) when f is not
// length-delimited, longer than max bytes, or holds a NUL.
int pb_get_string(const struct pb_field *f, size_t max, char **out);
// A varint field as proto3's int64 (the two's complement of the 64 bits); -1
// when f is not a varint.
int pb_get_int64(const struct pb_field *f, int64_t *out);
// A map<string,string> entry held by the PB_LEN field f: *key and *value
// malloc'd ("" when absent), key + value at most max bytes. -1 (nothing
// allocated) when malformed.
int pb_get_map_entry(const struct pb_field *f, size_t max, char **key, char **value);

#endif
