#include "sqlite_tuning.h"

/* Declared here rather than through sqlite3.h so this target needs no header search path; the
   values are SQLite's stable, documented constants. */
extern int sqlite3_config(int, ...);
#define DEFERMENT_SQLITE_CONFIG_MULTITHREAD 2
#define DEFERMENT_SQLITE_CONFIG_MEMSTATUS 9

int deferment_sqlite_single_connection_threads(void) {
    int rc = sqlite3_config(DEFERMENT_SQLITE_CONFIG_MULTITHREAD);
    if (rc != 0) return rc;
    return sqlite3_config(DEFERMENT_SQLITE_CONFIG_MEMSTATUS, 0);
}
