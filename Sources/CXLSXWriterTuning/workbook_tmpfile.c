// In constant-memory mode libxlsxwriter writes a sheet's rows to a temporary file, copies them
// into a second one around the sheet's header and footer, and reads that back into the zip: the
// XML of every row crosses the kernel four times, and stdio did it in pieces of tmpfs's 4 KiB
// block size (1.2 million system calls for the million-row site). The executable defines `fdopen`
// and `fclose` (exported, so libxlsxwriter's calls bind here): a stream opened on a file in a
// workbook's own folder (where libxlsxwriter makes its temporary files) gets a 1 MiB buffer,
// which `fclose` frees. Every other stream is left as stdio makes it. Measurements:
// bench/README.md.
#define _GNU_SOURCE
#include <dlfcn.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>
#include "xlsxwriter_tuning.h"

typedef FILE *(*fdopen_fn)(int fd, const char *mode);
typedef int (*fclose_fn)(FILE *stream);

static fdopen_fn libc_fdopen;
static fclose_fn libc_fclose;
static pthread_once_t bound = PTHREAD_ONCE_INIT;

static void bind_once(void) {
    libc_fdopen = (fdopen_fn)dlsym(RTLD_NEXT, "fdopen");
    libc_fclose = (fclose_fn)dlsym(RTLD_NEXT, "fclose");
}

enum { BUFFER = 1 << 20, SLOTS = 64 };

/// Whether `fd` is a regular file in a workbook's own folder (`DEFERMENT_WORKBOOK_FOLDER_PREFIX`,
/// the process id and six letters, made by `Workbook.init` in Sources/DefermentWorkbooks/Workbook.swift).
static int in_workbook_folder(int fd) {
    struct stat st;
    if (fstat(fd, &st) != 0 || !S_ISREG(st.st_mode)) return 0;
    char link[64], path[4096];
    snprintf(link, sizeof link, "/proc/self/fd/%d", fd);
    ssize_t n = readlink(link, path, sizeof path - 1);
    if (n <= 0) return 0;
    path[n] = 0;
    char *name = strrchr(path, '/');
    if (name == NULL || name == path) return 0;
    *name = 0;
    char *folder = strrchr(path, '/');
    const char prefix[] = DEFERMENT_WORKBOOK_FOLDER_PREFIX;
    return folder != NULL && strncmp(folder + 1, prefix, sizeof prefix - 1) == 0;
}

/// The streams given a buffer, and their buffers (a workbook being written holds a few).
static struct { FILE *stream; char *buffer; } given[SLOTS];
static pthread_mutex_t lock = PTHREAD_MUTEX_INITIALIZER;

__attribute__((visibility("default")))
FILE *fdopen(int fd, const char *mode) {
    pthread_once(&bound, bind_once);
    if (libc_fdopen == NULL) return NULL;
    FILE *stream = libc_fdopen(fd, mode);
    if (stream == NULL || !in_workbook_folder(fd)) return stream;
    char *buffer = malloc(BUFFER);
    if (buffer == NULL) return stream;
    pthread_mutex_lock(&lock);
    int slot = -1;
    for (int i = 0; i < SLOTS && slot < 0; i++) if (given[i].stream == NULL) slot = i;
    if (slot >= 0 && setvbuf(stream, buffer, _IOFBF, BUFFER) == 0) {
        given[slot].stream = stream;
        given[slot].buffer = buffer;
        buffer = NULL;
    }
    pthread_mutex_unlock(&lock);
    free(buffer);   // not given (no free slot): the stream keeps stdio's own
    return stream;
}

__attribute__((visibility("default")))
int fclose(FILE *stream) {
    pthread_once(&bound, bind_once);
    if (libc_fclose == NULL) return EOF;
    char *buffer = NULL;
    pthread_mutex_lock(&lock);
    for (int i = 0; i < SLOTS; i++) {
        if (given[i].stream == stream && stream != NULL) {
            buffer = given[i].buffer;
            given[i].stream = NULL;
            given[i].buffer = NULL;
            break;
        }
    }
    pthread_mutex_unlock(&lock);
    int rc = libc_fclose(stream);
    free(buffer);
    return rc;
}
