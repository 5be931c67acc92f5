#ifndef DEFERMENT_DEFLATE_STREAM_H
#define DEFERMENT_DEFLATE_STREAM_H

#include <stddef.h>
#include <stdint.h>

/// A raw DEFLATE stream (RFC 1951, as ZIP entries carry it) over Intel's ISA-L (igzip) at its
/// level 1: about fifteen times zlib's default level on the desk's spreadsheet XML, for output
/// about a tenth larger. Opaque; one per ZIP entry; not shared between threads.
typedef struct deferment_deflater deferment_deflater;

/// A new stream, or NULL when memory runs out.
deferment_deflater *deferment_deflater_new(void);

/// Frees a stream (finished or not).
void deferment_deflater_free(deferment_deflater *d);

/// What a call to `deferment_deflate` ends with.
enum {
    /// More input follows.
    DEFERMENT_DEFLATE_MORE = 0,
    /// The input given is the last: the stream ends with a final block.
    DEFERMENT_DEFLATE_FINISH = 1,
    /// Everything so far is written out and the stream is byte-aligned with no history (zlib's
    /// Z_FULL_FLUSH): independently compressed pieces can be placed here, and the stream goes on
    /// after them.
    DEFERMENT_DEFLATE_FULL_FLUSH = 2,
};

/// Feeds input and collects output. Consumes up to `in_len` bytes of `in` (`*in_used` says how
/// many) and writes up to `out_cap` bytes to `out` (`*out_len`). `mode` is one of the values
/// above; with FINISH or FULL_FLUSH, call again (with no more input) until `*done` is set.
/// Returns 0, or ISA-L's negative error code.
int deferment_deflate(deferment_deflater *d, const uint8_t *in, size_t in_len, int mode,
                      uint8_t *out, size_t out_cap, size_t *in_used, size_t *out_len, int *done);

/// Compresses a whole buffer with a stream kept per thread (no allocation per call): with
/// DEFERMENT_DEFLATE_FINISH as a complete raw DEFLATE stream, with DEFERMENT_DEFLATE_FULL_FLUSH
/// as non-final blocks that end byte-aligned and refer to nothing before them (a piece to place
/// into another stream). The output is in a buffer from malloc that the caller frees. Returns 0,
/// -3 when memory runs out, -4 for another mode, or ISA-L's negative error code.
int deferment_deflate_buffer(const uint8_t *in, size_t in_len, int mode, uint8_t **out, size_t *out_len);

/// The CRC-32 of ZIP and gzip (reflected IEEE 802.3), continuing from `crc` (0 to start).
uint32_t deferment_crc32(uint32_t crc, const uint8_t *buf, size_t len);

/// The CRC-32 of two pieces joined, from the CRC of each and the second's length (zlib's
/// crc32_combine): lets a part's opening be settled after the rest was compressed.
uint32_t deferment_crc32_combine(uint32_t crc1, uint32_t crc2, uint64_t len2);

/// Inflates a whole raw DEFLATE stream (zlib) into a buffer from malloc that the caller frees.
/// Stops with -2 once the output would pass `limit` bytes; returns 0 on success, -1 for data
/// that is not a complete DEFLATE stream, -3 when memory runs out.
int deferment_inflate_raw(const uint8_t *in, size_t in_len, size_t limit, uint8_t **out, size_t *out_len);

#endif
