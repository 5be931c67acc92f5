// libxlsxwriter compresses a workbook's parts through the system's minizip at zlib's default
// level (6), which is a third of the time it takes to write a large decision workbook. The
// executable defines minizip's `zipOpenNewFileInZip4_64` itself (exported, so libxlsxwriter's
// call binds here) and forwards to minizip's own with zlib's level 1: the bytes are still plain
// DEFLATE that every reader opens, a little larger. Measurements: bench/README.md.
#define _GNU_SOURCE
#include <dlfcn.h>
#include <stddef.h>
#include "workbook_zip.h"

typedef int (*zip_open_fn)(void *file, const char *filename, const void *zipfi,
                           const void *extrafield_local, unsigned size_extrafield_local,
                           const void *extrafield_global, unsigned size_extrafield_global,
                           const char *comment, int method, int level, int raw, int windowBits,
                           int memLevel, int strategy, const char *password,
                           unsigned long crcForCrypting, unsigned long versionMadeBy,
                           unsigned long flagBase, int zip64);

int deferment_workbook_zip_level(void) { return 1; }

__attribute__((visibility("default")))
int zipOpenNewFileInZip4_64(void *file, const char *filename, const void *zipfi,
                            const void *extrafield_local, unsigned size_extrafield_local,
                            const void *extrafield_global, unsigned size_extrafield_global,
                            const char *comment, int method, int level, int raw, int windowBits,
                            int memLevel, int strategy, const char *password,
                            unsigned long crcForCrypting, unsigned long versionMadeBy,
                            unsigned long flagBase, int zip64) {
    static zip_open_fn minizip;
    if (minizip == NULL) minizip = (zip_open_fn)dlsym(RTLD_NEXT, "zipOpenNewFileInZip4_64");
    if (minizip == NULL) return -104;   // ZIP_INTERNALERROR
    if (level != 0) level = deferment_workbook_zip_level();
    return minizip(file, filename, zipfi, extrafield_local, size_extrafield_local, extrafield_global,
                   size_extrafield_global, comment, method, level, raw, windowBits, memLevel, strategy,
                   password, crcForCrypting, versionMadeBy, flagBase, zip64);
}
