// SPDX-License-Identifier: Apache-2.0
#include "run/unpackrun.h"

#include <unistd.h>

#include "unpack/image.h"
#include "util/clock.h"
#include "util/log.h"

static void *unpackrun_main(void *arg)
{
	struct unpackrun *up = arg;
	up->rc = unpack_image_run(&up->u, &up->st, &up->err);
	up->took = clock_mono() - up->t0;
	if (up->rc < 0) // the pull ends with the unpack's error (a hostile layer: exit 6)
		pull_engine_abort(up->eng, &up->err);
	return NULL;
}

void unpackrun_start(void *ud, struct pullrun *r)
{
	struct unpackrun *up = ud;
	const struct pull_image *img = &r->imgs[0];
	up->eng = r->eng;
	up->u = (struct unpack_image){.rootfs = up->c->unpack, .layout = &r->layout, .name = img->name,
				      .manifest_digest = img->manifest_digest, .manifest = &img->manifest,
				      .chown = !up->c->no_chown && geteuid() == 0, .open_blob = pullrun_stream_open,
				      .blob_ud = r->eng, .drop_blobs = up->c->dest_temporary};
	up->t0 = clock_mono();
	int rc = pthread_create(&up->th, NULL, unpackrun_main, up);
	if (rc != 0) {
		up->rc = err_sys(&up->err, ERR_INTERNAL, rc, "cannot start the unpacking thread");
		pull_engine_abort(r->eng, &up->err);
		return;
	}
	up->started = true;
}

int unpackrun_finish(struct unpackrun *up, bool pulled, struct err *e)
{
	if (up->started) {
		pthread_join(up->th, NULL);
		up->started = false;
	}
	if (!pulled)
		return -1;
	if (up->rc < 0) {
		*e = up->err;
		return err_wrap(e, "unpacking into '%s'", up->c->unpack);
	}
	if (up->rc == 1)
		log_info("unpack: '%s' holds %s already", up->c->unpack, up->u.name);
	else
		log_info("unpack: %s into '%s': %llu entries, %llu bytes in %.2f s (gzip through %s)", up->u.name,
			 up->c->unpack, (unsigned long long)up->st.entries, (unsigned long long)up->st.bytes_out,
			 up->took, unpack_gzip_engine());
	return 0;
}
