// SPDX-License-Identifier: Apache-2.0
#include "util/pb.h"

#include <stdlib.h>
#include <string.h>

#include "util/mem.h"

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

int pb_put_bytes(struct buf *out, unsigned field, const void *data, size_t len)
{
	return len ? put_len(out, field, data, len) : 0;
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

int pb_put_bool(struct buf *out, unsigned field, bool v)
{
	return v ? pb_put_varint_field(out, field, 1) : 0;
}

int pb_put_int64(struct buf *out, unsigned field, int64_t v)
{
	return v ? pb_put_varint_field(out, field, (uint64_t)v) : 0;
}

int pb_put_map_entry(struct buf *out, unsigned field, const char *key, const char *value)
{
	size_t kl = key ? strlen(key) : 0, vl = value ? strlen(value) : 0;
	struct buf entry;
	buf_init(&entry, out->max); // never more than out can take
	int r = put_len(&entry, 1, key, kl);
	if (r == 0)
		r = put_len(&entry, 2, value, vl);
	if (r == 0)
		r = pb_put_message(out, field, &entry);
	else
		out->toobig = true;
	buf_release(&entry);
	return r;
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
	if (number == 0 || number > PB_FIELD_MAX)
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

int pb_get_string(const struct pb_field *f, size_t max, char **out)
{
	if (f->wire != PB_LEN || f->len > max || (f->len && memchr(f->data, '\0', f->len)))
		return -1;
	*out = xstrndup(f->len ? (const char *)f->data : "", f->len);
	return 0;
}

int pb_get_int64(const struct pb_field *f, int64_t *out)
{
	if (f->wire != PB_VARINT)
		return -1;
	uint64_t v = f->varint;
	// Two's complement without relying on an implementation-defined conversion.
	*out = v <= (uint64_t)INT64_MAX ? (int64_t)v : -(int64_t)(~v) - 1;
	return 0;
}

int pb_get_map_entry(const struct pb_field *f, size_t max, char **key, char **value)
{
	if (f->wire != PB_LEN)
		return -1;
	struct pb_reader r;
	struct pb_field g;
	pb_reader_init(&r, f->data, f->len);
	const struct pb_field *k = NULL, *v = NULL;
	struct pb_field kf, vf;
	int n;
	while ((n = pb_next(&r, &g)) > 0) {
		if (g.number == 1) {
			kf = g;
			k = &kf;
		} else if (g.number == 2) {
			vf = g;
			v = &vf;
		}
	}
	size_t kl = k ? k->len : 0, vl = v ? v->len : 0;
	if (n < 0 || (k && k->wire != PB_LEN) || (v && v->wire != PB_LEN) || kl > max || vl > max - kl)
		return -1;
	char *ks = NULL;
	static const struct pb_field empty = {.wire = PB_LEN};
	if (pb_get_string(k ? k : &empty, max, &ks) < 0)
		return -1;
	if (pb_get_string(v ? v : &empty, max, value) < 0) {
		free(ks);
		return -1;
	}
	*key = ks;
	return 0;
}
