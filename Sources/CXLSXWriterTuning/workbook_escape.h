#ifndef DEFERMENT_WORKBOOK_ESCAPE_H
#define DEFERMENT_WORKBOOK_ESCAPE_H
#include <string.h>

// Copies `text` to `out` with `&`, `<` and `>` written as XML entities, as libxlsxwriter's
// `lxw_escape_data` does; `out` has room for five times the text's length. Returns the end
// (no terminating zero). Shared by workbook_text.c and workbook_cells.c.
static inline char *escape_xml_data(char *out, const char *text) {
    for (const char *p = text; *p; p++) {
        switch (*p) {
        case '&': memcpy(out, "&amp;", 5); out += 5; break;
        case '<': memcpy(out, "&lt;", 4); out += 4; break;
        case '>': memcpy(out, "&gt;", 4); out += 4; break;
        default: *out++ = *p;
        }
    }
    return out;
}

#endif
