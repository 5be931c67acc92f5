// libxlsxwriter packs a workbook through the system's minizip, which deflates every part with
// zlib at its default level: zlib alone was a sixth of a full site build, most of it the
// decision workbooks. The executable defines the three minizip calls libxlsxwriter makes for a
// part (exported, so libxlsxwriter's calls bind here) and deflates the part with Intel's ISA-L at
// its level 1 (the library that already compresses the site's sealed pages), handing minizip the
// compressed bytes as a raw entry with their CRC-32 and size. The bytes are plain DEFLATE that
// every reader opens. Measurements: bench/README.md. Tests: WorkbookTests (every entry's CRC-32
// checked by Python's zipfile, every cell by openpyxl, LibreOffice and the desk's reader).
//
// A part is opened, written and closed on one thread (libxlsxwriter packs a workbook inside
// `workbook_close`), so the part being deflated is kept per thread; a call for any other zip
// file, or a part minizip is asked to store, goes to minizip unchanged.
#define _GNU_SOURCE
#include <dlfcn.h>
#include <pthread.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <isa-l/crc.h>
#include <isa-l/igzip_lib.h>
#include "xlsxwriter_tuning.h"

enum { Z_DEFLATED_METHOD = 8, ZIP_OK_RC = 0, ZIP_ERRNO_RC = -1, ZIP_INTERNALERROR_RC = -104 };

typedef int (*zip_open_fn)(void *file, const char *filename, const void *zipfi,
                           const void *extrafield_local, unsigned size_extrafield_local,
                           const void *extrafield_global, unsigned size_extrafield_global,
                           const char *comment, int method, int level, int raw, int windowBits,
                           int memLevel, int strategy, const char *password,
                           unsigned long crcForCrypting, unsigned long versionMadeBy,
                           unsigned long flagBase, int zip64);
typedef int (*zip_write_fn)(void *file, const void *buf, unsigned len);
typedef int (*zip_close_fn)(void *file);
typedef int (*zip_close_raw_fn)(void *file, unsigned long long uncompressed_size, unsigned long crc32);

static zip_open_fn minizip_open;
static zip_write_fn minizip_write;
static zip_close_fn minizip_close;
static zip_close_raw_fn minizip_close_raw;

static pthread_once_t bound = PTHREAD_ONCE_INIT;

static void bind_once(void) {
    minizip_open = (zip_open_fn)dlsym(RTLD_NEXT, "zipOpenNewFileInZip4_64");
    minizip_write = (zip_write_fn)dlsym(RTLD_NEXT, "zipWriteInFileInZip");
    minizip_close = (zip_close_fn)dlsym(RTLD_NEXT, "zipCloseFileInZip");
    minizip_close_raw = (zip_close_raw_fn)dlsym(RTLD_NEXT, "zipCloseFileInZipRaw64");
}

// Minizip's own functions, found once.
static int bind_minizip(void) {
    pthread_once(&bound, bind_once);
    return minizip_open != NULL && minizip_write != NULL && minizip_close != NULL && minizip_close_raw != NULL;
}

/// The part this thread is deflating.
struct part {
    void *file;                 // the zip file it belongs to; NULL when none is open
    struct isal_zstream stream; // its level_buf, ISA-L's working memory, held while the part is open
    uint64_t size;              // bytes given so far
    uint32_t crc;               // their CRC-32
    int failed;
};
static _Thread_local struct part current;

enum { OUT_CHUNK = 1 << 16 };

// Deflates what the stream holds and hands the output to minizip; `last` ends the stream.
static int deflate_into_zip(struct part *p, const uint8_t *in, uint32_t len, int last) {
    uint8_t out[OUT_CHUNK];
    struct isal_zstream *s = &p->stream;
    s->next_in = (uint8_t *)in;
    s->avail_in = len;
    s->end_of_stream = last;
    s->flush = NO_FLUSH;
    for (;;) {
        s->next_out = out;
        s->avail_out = OUT_CHUNK;
        if (isal_deflate(s) != COMP_OK) return ZIP_INTERNALERROR_RC;
        unsigned made = OUT_CHUNK - s->avail_out;
        if (made > 0) {
            int rc = minizip_write(p->file, out, made);
            if (rc != ZIP_OK_RC) return rc;
        }
        int finished = last ? s->internal_state.state == ZSTATE_END : s->avail_in == 0 && made < OUT_CHUNK;
        if (finished) return ZIP_OK_RC;
    }
}

// The DEFLATE level (ISA-L's) every part is compressed at.
enum { WORKBOOK_ZIP_LEVEL = 1 };

__attribute__((visibility("default")))
int zipOpenNewFileInZip4_64(void *file, const char *filename, const void *zipfi,
                            const void *extrafield_local, unsigned size_extrafield_local,
                            const void *extrafield_global, unsigned size_extrafield_global,
                            const char *comment, int method, int level, int raw, int windowBits,
                            int memLevel, int strategy, const char *password,
                            unsigned long crcForCrypting, unsigned long versionMadeBy,
                            unsigned long flagBase, int zip64) {
    if (!bind_minizip()) return ZIP_INTERNALERROR_RC;
    int ours = method == Z_DEFLATED_METHOD && level != 0 && !raw && password == NULL && current.file == NULL;
    if (!ours) {
        return minizip_open(file, filename, zipfi, extrafield_local, size_extrafield_local, extrafield_global,
                            size_extrafield_global, comment, method, level, raw, windowBits, memLevel, strategy,
                            password, crcForCrypting, versionMadeBy, flagBase, zip64);
    }
    struct part *p = &current;
    uint8_t *level_buf = malloc(ISAL_DEF_LVL1_DEFAULT);
    if (level_buf == NULL) return ZIP_ERRNO_RC;
    // Minizip writes the entry's header (method DEFLATE, level 1's flag bits) and takes the bytes as given.
    int rc = minizip_open(file, filename, zipfi, extrafield_local, size_extrafield_local, extrafield_global,
                          size_extrafield_global, comment, method, WORKBOOK_ZIP_LEVEL, 1, windowBits,
                          memLevel, strategy, password, crcForCrypting, versionMadeBy, flagBase, zip64);
    if (rc != ZIP_OK_RC) { free(level_buf); return rc; }
    isal_deflate_init(&p->stream);
    p->stream.level = WORKBOOK_ZIP_LEVEL;
    p->stream.level_buf = level_buf;
    p->stream.level_buf_size = ISAL_DEF_LVL1_DEFAULT;
    p->stream.gzip_flag = IGZIP_DEFLATE;
    p->file = file;
    p->size = 0;
    p->crc = 0;
    p->failed = 0;
    return ZIP_OK_RC;
}

__attribute__((visibility("default")))
int zipWriteInFileInZip(void *file, const void *buf, unsigned len) {
    if (!bind_minizip()) return ZIP_INTERNALERROR_RC;
    struct part *p = &current;
    if (p->file == NULL || p->file != file) return minizip_write(file, buf, len);
    if (p->failed) return ZIP_INTERNALERROR_RC;
    p->crc = crc32_gzip_refl(p->crc, buf, len);
    p->size += len;
    int rc = deflate_into_zip(p, buf, len, 0);
    if (rc != ZIP_OK_RC) p->failed = 1;
    return rc;
}

__attribute__((visibility("default")))
int zipCloseFileInZip(void *file) {
    if (!bind_minizip()) return ZIP_INTERNALERROR_RC;
    struct part *p = &current;
    if (p->file == NULL || p->file != file) return minizip_close(file);
    int rc = p->failed ? ZIP_INTERNALERROR_RC : deflate_into_zip(p, NULL, 0, 1);
    p->file = NULL;
    free(p->stream.level_buf);
    p->stream.level_buf = NULL;
    int closed = minizip_close_raw(file, p->size, p->crc);
    return rc != ZIP_OK_RC ? rc : closed;
}
