// SPDX-License-Identifier: Apache-2.0
// libFuzzer target for what containerd answers (cri/): a gRPC frame around a
// PullImageResponse (transport/grpc), and the protobuf reader under it (util/pb). An accepted answer
// yields a non-empty image id without a NUL; the reader never reads past its end.
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "cri/cri.h"
#include "transport/grpc.h"
#include "util/pb.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	const void *msg;
	size_t len;
	const void *in = data;
	size_t in_len = size;
	if (grpc_unframe(data, size, &msg, &len) == 0) {
		if ((const uint8_t *)msg != data + 5 || len != size - 5)
			abort();
		in = msg;
		in_len = len;
	}
	char *ref = NULL;
	struct err e;
	if (cri_decode_pull_response(in, in_len, &ref, &e) == 0) {
		if (!ref || !ref[0])
			abort();
		free(ref);
	} else if (ref) {
		abort();
	}
	struct pb_reader r;
	struct pb_field f;
	pb_reader_init(&r, in, in_len);
	int k;
	while ((k = pb_next(&r, &f)) > 0)
		if (f.wire == PB_LEN && (f.data < (const unsigned char *)in || f.data + f.len > (const unsigned char *)in + in_len))
			abort();
	return 0;
}
