#ifndef DEFERMENT_DEFLATE_STREAM_H
#define DEFERMENT_DEFLATE_STREAM_H

#include <stddef.h>
#include <stdint.h>

/// A raw DEFLATE stream (RFC 1951) over Intel's ISA-L (igzip) at its level 1, for the site's
/// sealed pages and reports (browsers inflate them with `DecompressionStream("deflate-raw")`).
typedef struct deferment_deflater deferment_deflater;

/// Compresses a whole buffer into a complete raw DEFLATE stream with a stream kept per thread (no
/// allocation per call). The output is in a buffer from malloc that the caller frees. Returns 0,
/// -3 when memory runs out, or ISA-L's negative error code.
int deferment_deflate_buffer(const uint8_t *in, size_t in_len, uint8_t **out, size_t *out_len);

/// Inflates a whole raw DEFLATE stream (zlib) into a buffer from malloc that the caller frees.
/// Stops with -2 once the output would pass `limit` bytes; returns 0 on success, -1 for data
/// that is not a complete DEFLATE stream, -3 when memory runs out.
int deferment_inflate_raw(const uint8_t *in, size_t in_len, size_t limit, uint8_t **out, size_t *out_len);

#endif
