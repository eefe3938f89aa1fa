// SPDX-License-Identifier: Apache-2.0
// The few protocol-buffer wire rules the CRI messages need (varints,
// length-delimited fields), to write requests and read answers. Reading trusts
// nothing: every length is checked against what is left.
#ifndef IMGPULL_CRI_PROTO_H
#define IMGPULL_CRI_PROTO_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "util/buf.h"

enum pb_wire { PB_VARINT = 0, PB_I64 = 1, PB_LEN = 2, PB_I32 = 5 };

// Appends field as a length-delimited string (skipped when s is NULL or empty,
// as proto3 does for defaults). -1 when out's cap is reached.
int pb_put_string(struct buf *out, unsigned field, const char *s);
// Appends field as an embedded message (its encoded bytes).
int pb_put_message(struct buf *out, unsigned field, const struct buf *msg);
int pb_put_varint_field(struct buf *out, unsigned field, uint64_t v);

struct pb_reader {
	const unsigned char *p, *end;
};

struct pb_field {
	unsigned number;
	enum pb_wire wire;
	uint64_t varint;          // PB_VARINT (and the fixed ones, little-endian)
	const unsigned char *data; // PB_LEN
	size_t len;
};

void pb_reader_init(struct pb_reader *r, const void *data, size_t len);
// 1 and *f for the next field, 0 at the end, -1 on malformed input.
int pb_next(struct pb_reader *r, struct pb_field *f);

#endif
