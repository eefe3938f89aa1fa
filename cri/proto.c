// SPDX-License-Identifier: Apache-2.0
#include "cri/proto.h"

#include <string.h>

static int put_varint(struct buf *out, uint64_t v)
{
	unsigned char b[10];
	size_t n = 0;
	do {
		b[n] = (unsigned char)(v & 0x7f);
		v >>= 7;
		if (v)
			b[n] |= 0x80;
		n++;
	} while (v);
	return buf_add(out, b, n);
}

static int put_key(struct buf *out, unsigned field, enum pb_wire wire)
{
	return put_varint(out, ((uint64_t)field << 3) | (uint64_t)wire);
}

static int put_len(struct buf *out, unsigned field, const void *data, size_t len)
{
	if (put_key(out, field, PB_LEN) < 0 || put_varint(out, len) < 0)
		return -1;
	return len ? buf_add(out, data, len) : 0;
}

int pb_put_string(struct buf *out, unsigned field, const char *s)
{
	if (!s || !*s)
		return 0;
	return put_len(out, field, s, strlen(s));
}

int pb_put_message(struct buf *out, unsigned field, const struct buf *msg)
{
	return put_len(out, field, msg->data, msg->len);
}

int pb_put_varint_field(struct buf *out, unsigned field, uint64_t v)
{
	if (put_key(out, field, PB_VARINT) < 0)
		return -1;
	return put_varint(out, v);
}

void pb_reader_init(struct pb_reader *r, const void *data, size_t len)
{
	r->p = data;
	r->end = r->p + len;
}

static int get_varint(struct pb_reader *r, uint64_t *out)
{
	uint64_t v = 0;
	for (unsigned shift = 0; shift < 64; shift += 7) {
		if (r->p >= r->end)
			return -1;
		unsigned char c = *r->p++;
		if (shift == 63 && (c & 0x7e))
			return -1; // more than 64 bits
		v |= (uint64_t)(c & 0x7f) << shift;
		if (!(c & 0x80)) {
			*out = v;
			return 0;
		}
	}
	return -1; // an eleventh byte
}

int pb_next(struct pb_reader *r, struct pb_field *f)
{
	if (r->p >= r->end)
		return 0;
	uint64_t key;
	if (get_varint(r, &key) < 0)
		return -1;
	uint64_t number = key >> 3;
	if (number == 0 || number > 536870911) // 2^29 - 1
		return -1;
	memset(f, 0, sizeof(*f));
	f->number = (unsigned)number;
	f->wire = (enum pb_wire)(key & 7);
	switch (f->wire) {
	case PB_VARINT:
		return get_varint(r, &f->varint) < 0 ? -1 : 1;
	case PB_I64:
	case PB_I32: {
		size_t n = f->wire == PB_I64 ? 8 : 4;
		if ((size_t)(r->end - r->p) < n)
			return -1;
		for (size_t i = 0; i < n; i++)
			f->varint |= (uint64_t)r->p[i] << (8 * i);
		r->p += n;
		return 1;
	}
	case PB_LEN: {
		uint64_t len;
		if (get_varint(r, &len) < 0 || len > (uint64_t)(r->end - r->p))
			return -1;
		f->data = r->p;
		f->len = (size_t)len;
		r->p += len;
		return 1;
	}
	default:
		return -1; // groups (3, 4) and unknown wire types
	}
}
