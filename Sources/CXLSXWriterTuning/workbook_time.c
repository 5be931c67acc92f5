// libxlsxwriter formats a workbook's creation date (docProps/core.xml) with `gmtime`, whose
// result glibc keeps in one buffer for the whole process: two workbooks written at the same time
// on a build's workers could each get the other's date, or a mix of both (2022-06-31 was seen).
// The executable defines `gmtime` (exported, so libxlsxwriter's calls bind here, as for
// workbook_zip.c) with a buffer per thread: the same result for every caller, and safe on every
// thread. Test: WorkbookTests.workbooksWrittenInParallelKeepTheirOwnDates.
#define _GNU_SOURCE
#include <time.h>

__attribute__((visibility("default")))
struct tm *gmtime(const time_t *timer) {
    static _Thread_local struct tm result;
    return gmtime_r(timer, &result);
}
