#ifndef SQLITE_TUNING_H
#define SQLITE_TUNING_H

/// Puts SQLite in multi-thread mode with memory statistics off, before the process opens its
/// first connection. Returns 0 when both settings took effect (SQLITE_OK), else SQLite's code
/// (SQLITE_MISUSE once a connection has been opened: the settings are then left as they were).
///
/// Why: `sqlite3_config` is variadic, so Swift cannot call it. Debian's SQLite is built
/// serialized, which locks a mutex around every bind and step; the desk never shares a
/// connection between threads (GRDB serializes each connection's use), so those locks, and the
/// allocator's statistics mutex, only cost time: about a tenth of a large roster's intake.
int deferment_sqlite_single_connection_threads(void);

#endif
