#include "deflate_stream.h"

#include <pthread.h>
#include <stdlib.h>
#include <string.h>
#include <isa-l/igzip_lib.h>
#include <zlib.h>

struct deferment_deflater {
    struct isal_zstream stream;
    uint8_t *level_buf;
};

static deferment_deflater *deferment_deflater_new(void) {
    deferment_deflater *d = calloc(1, sizeof *d);
    if (d == NULL) return NULL;
    d->level_buf = malloc(ISAL_DEF_LVL1_DEFAULT);
    if (d->level_buf == NULL) { free(d); return NULL; }
    isal_deflate_init(&d->stream);
    d->stream.level = 1;
    d->stream.level_buf = d->level_buf;
    d->stream.level_buf_size = ISAL_DEF_LVL1_DEFAULT;
    d->stream.gzip_flag = IGZIP_DEFLATE;
    d->stream.flush = NO_FLUSH;
    return d;
}

static void deferment_deflater_free(deferment_deflater *d) {
    if (d == NULL) return;
    free(d->level_buf);
    free(d);
}

// Feeds the stream; `*done` once the final block is written.
static int deflate_some(deferment_deflater *d, const uint8_t *in, size_t in_len,
                        uint8_t *out, size_t out_cap, size_t *in_used, size_t *out_len, int *done) {
    struct isal_zstream *s = &d->stream;
    // ISA-L counts in 32 bits; the caller loops over larger buffers.
    uint32_t give = in_len > UINT32_MAX ? UINT32_MAX : (uint32_t)in_len;
    uint32_t room = out_cap > UINT32_MAX ? UINT32_MAX : (uint32_t)out_cap;
    s->next_in = (uint8_t *)in;
    s->avail_in = give;
    s->next_out = out;
    s->avail_out = room;
    s->end_of_stream = give == in_len ? 1 : 0;
    s->flush = NO_FLUSH;
    int rc = isal_deflate(s);
    *in_used = give - s->avail_in;
    *out_len = room - s->avail_out;
    *done = s->internal_state.state == ZSTATE_END;
    return rc;
}

int deferment_inflate_raw(const uint8_t *in, size_t in_len, size_t limit, uint8_t **out, size_t *out_len) {
    z_stream z;
    memset(&z, 0, sizeof z);
    if (inflateInit2(&z, -15) != Z_OK) return -3;
    size_t cap = in_len * 4 + 1024, len = 0;
    uint8_t *buf = malloc(cap);
    if (buf == NULL) { inflateEnd(&z); return -3; }
    size_t fed = 0;
    int rc = Z_OK;
    while (rc != Z_STREAM_END) {
        if (len == cap) {
            if (cap >= limit) { free(buf); inflateEnd(&z); return -2; }
            size_t grown = cap * 2 > limit ? limit : cap * 2;
            uint8_t *more = realloc(buf, grown);
            if (more == NULL) { free(buf); inflateEnd(&z); return -3; }
            buf = more;
            cap = grown;
        }
        size_t give = in_len - fed > 1u << 30 ? 1u << 30 : in_len - fed;
        z.next_in = (Bytef *)(in + fed);
        z.avail_in = (uInt)give;
        size_t room = cap - len > 1u << 30 ? 1u << 30 : cap - len;
        z.next_out = buf + len;
        z.avail_out = (uInt)room;
        rc = inflate(&z, Z_NO_FLUSH);
        fed += give - z.avail_in;
        len += room - z.avail_out;
        if (rc == Z_BUF_ERROR && z.avail_out != 0) { free(buf); inflateEnd(&z); return -1; } // input ended early
        if (rc != Z_OK && rc != Z_STREAM_END && rc != Z_BUF_ERROR) { free(buf); inflateEnd(&z); return -1; }
    }
    inflateEnd(&z);
    *out = buf;
    *out_len = len;
    return 0;
}

// One stream per thread, reset for each buffer (no allocation per call), freed when the
// thread ends.
static pthread_key_t buffer_stream_key;
static pthread_once_t buffer_stream_once = PTHREAD_ONCE_INIT;

static void free_buffer_stream(void *d) { deferment_deflater_free(d); }
static void make_buffer_stream_key(void) { pthread_key_create(&buffer_stream_key, free_buffer_stream); }

int deferment_deflate_buffer(const uint8_t *in, size_t in_len, uint8_t **out, size_t *out_len) {
    pthread_once(&buffer_stream_once, make_buffer_stream_key);
    deferment_deflater *d = pthread_getspecific(buffer_stream_key);
    if (d == NULL) {
        if ((d = deferment_deflater_new()) == NULL) return -3;
        pthread_setspecific(buffer_stream_key, d);
    }
    isal_deflate_reset(&d->stream);
    size_t cap = in_len + in_len / 8 + 1024, len = 0, fed = 0;
    uint8_t *buf = malloc(cap);
    if (buf == NULL) return -3;
    for (;;) {
        if (len == cap) {
            uint8_t *more = realloc(buf, cap * 2);
            if (more == NULL) { free(buf); return -3; }
            buf = more;
            cap *= 2;
        }
        size_t used = 0, produced = 0;
        int done = 0;
        int rc = deflate_some(d, in + fed, in_len - fed, buf + len, cap - len, &used, &produced, &done);
        if (rc != 0) { free(buf); return rc; }
        fed += used;
        len += produced;
        if (done) break;
    }
    *out = buf;
    *out_len = len;
    return 0;
}
