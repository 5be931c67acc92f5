// libxlsxwriter 1.1.4 (Debian's) writes every text cell of a constant-memory sheet through
// `lxw_escape_control_characters`, because its `lxw_has_control_characters` answers yes for any
// text: each cell then costs a zeroed allocation of seven times its length and a copy byte by
// byte. The executable defines `lxw_has_control_characters` (exported, so libxlsxwriter's call
// binds here) as its name says: yes only for a text holding a character that the escaping
// changes (0x01–0x08 and 0x0B–0x1F, written as `_xHHHH_`); any other text is copied as it is,
// the same bytes either way. Tests: WorkbookTests (a control character still reaches
// LibreOffice and openpyxl escaped). Measurements: bench/README.md.
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include "workbook_escape.h"

__attribute__((visibility("default")))
uint8_t lxw_has_control_characters(const char *string) {
    if (string == 0) return 0;
    for (const unsigned char *p = (const unsigned char *)string; *p; p++) {
        if (*p < 0x20 && *p != 0x09 && *p != 0x0A) return 1;
    }
    return 0;
}

// `lxw_escape_data` (every text cell as it is written) likewise allocated and zeroed five times
// the text's length and copied it byte by byte, though most texts hold no `&`, `<` or `>`. This
// definition returns the same bytes, in memory the caller frees the same way: a plain copy when
// there is nothing to escape.
__attribute__((visibility("default")))
char *lxw_escape_data(const char *data) {
    size_t length = strlen(data);
    if (strpbrk(data, "&<>") == NULL) {
        char *copy = malloc(length + 1);
        if (copy != NULL) memcpy(copy, data, length + 1);
        return copy;
    }
    char *escaped = malloc(length * 5 + 1);
    if (escaped == NULL) return NULL;
    *escape_xml_data(escaped, data) = 0;
    return escaped;
}
