// libxlsxwriter writes each number and text cell of a sheet with one `fprintf` of a fixed
// pattern, after naming the cell (`A1`) with two `snprintf`s and copying the text into a fresh
// allocation to escape it: for the site's two million rows that formatting was a tenth of the
// build. The executable defines the functions libxlsxwriter 1.1.4 calls for this (exported, so
// its calls bind here) and writes the same bytes without parsing a format: `lxw_rowcol_to_cell`,
// `_write_number_cell` (`%.16G`), `_write_inline_string_cell` (`&<>` escaped,
// `xml:space="preserve"` when the text begins or ends with a space), blank cells and plain rows
// (`_write_cell`, `_write_row`: anything else goes on to libxlsxwriter). A number that is
// not a whole number below 10^15 is formatted by `snprintf` as before. A library of another
// version takes libxlsxwriter's own path; so does every cell when DEFERMENT_XLSX_CELLS=library
// is set (the operator's way back) or `deferment_workbook_cells_by_library(1)` is called
// (WorkbookTests, to show that both write the same sheets byte for byte). Measurements: bench/README.md.
#define _GNU_SOURCE
#include <dlfcn.h>
#include <math.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <xlsxwriter.h>
#include "workbook_escape.h"

void _write_number_cell(lxw_worksheet *self, char *range, int32_t style_index, lxw_cell *cell);
void _write_inline_string_cell(lxw_worksheet *self, char *range, int32_t style_index, lxw_cell *cell);
void _write_cell(lxw_worksheet *self, lxw_cell *cell, lxw_format *row_format);
void _write_row(lxw_worksheet *self, lxw_row *row, char *spans);

typedef void (*cell_writer)(lxw_worksheet *, char *, int32_t, lxw_cell *);
typedef void (*cell_namer)(char *, lxw_row_t, lxw_col_t);
typedef void (*any_cell_writer)(lxw_worksheet *, lxw_cell *, lxw_format *);
typedef void (*row_writer)(lxw_worksheet *, lxw_row *, char *);

static cell_writer library_number, library_inline_string;
static cell_namer library_name;
static any_cell_writer library_cell;
static row_writer library_row;
static int other_version;
static atomic_int by_library;
static pthread_once_t bound = PTHREAD_ONCE_INIT;

static void bind_once(void) {
    library_number = (cell_writer)dlsym(RTLD_NEXT, "_write_number_cell");
    library_inline_string = (cell_writer)dlsym(RTLD_NEXT, "_write_inline_string_cell");
    library_name = (cell_namer)dlsym(RTLD_NEXT, "lxw_rowcol_to_cell");
    library_cell = (any_cell_writer)dlsym(RTLD_NEXT, "_write_cell");
    library_row = (row_writer)dlsym(RTLD_NEXT, "_write_row");
    other_version = LXW_VERSION_ID != 114 || lxw_version_id() != LXW_VERSION_ID;
    const char *mode = getenv("DEFERMENT_XLSX_CELLS");
    if (mode != NULL && strcmp(mode, "library") == 0) atomic_store(&by_library, 1);
}

// Whether libxlsxwriter's own functions (found once) write the cells instead of this file.
static int library_writes_cells(void) {
    pthread_once(&bound, bind_once);
    return (other_version || atomic_load_explicit(&by_library, memory_order_relaxed))
        && library_number != NULL && library_inline_string != NULL && library_name != NULL
        && library_cell != NULL && library_row != NULL;
}

__attribute__((visibility("default")))
void deferment_workbook_cells_by_library(int yes) {
    pthread_once(&bound, bind_once);
    atomic_store(&by_library, yes != 0);
}

// Writes `value` in decimal at `out`; returns the end.
static char *decimal(char *out, unsigned long long value) {
    char digits[24];
    int n = 0;
    do { digits[n++] = (char)('0' + value % 10); value /= 10; } while (value);
    while (n) *out++ = digits[--n];
    return out;
}

// Appends the literal `s` at `out`; returns the end.
#define PUT(out, s) (memcpy((out), (s), sizeof(s) - 1), (out) + sizeof(s) - 1)

// `<c r="A1"` and ` s="3"` when the cell has a style.
static char *cell_start(char *out, const char *range, int32_t style_index) {
    out = PUT(out, "<c r=\"");
    size_t n = strlen(range);
    memcpy(out, range, n);
    out += n;
    *out++ = '"';
    if (style_index) {
        out = PUT(out, " s=\"");
        out = decimal(out, (unsigned long long)style_index);
        *out++ = '"';
    }
    return out;
}

__attribute__((visibility("default")))
void lxw_rowcol_to_cell(char *cell_name, lxw_row_t row, lxw_col_t col) {
    if (library_writes_cells()) { library_name(cell_name, row, col); return; }
    char letters[8];
    int n = 0;
    for (unsigned long c = (unsigned long)col + 1; c; c = (c - 1) / 26) {
        unsigned long rest = c % 26;
        letters[n++] = (char)('A' + (rest ? rest : 26) - 1);
    }
    char *out = cell_name;
    while (n) *out++ = letters[--n];
    out = decimal(out, (unsigned long long)row + 1);
    *out = 0;
}

__attribute__((visibility("default")))
void _write_number_cell(lxw_worksheet *self, char *range, int32_t style_index, lxw_cell *cell) {
    if (library_writes_cells()) { library_number(self, range, style_index, cell); return; }
    double number = cell->u.number;
    char line[128];
    char *out = cell_start(line, range, style_index);
    out = PUT(out, "><v>");
    if (fabs(number) < 1e15 && number == trunc(number) && !(number == 0 && signbit(number))) {
        if (number < 0) *out++ = '-';
        out = decimal(out, (unsigned long long)fabs(number));
    } else {
        out += snprintf(out, 40, "%.16G", number);
    }
    out = PUT(out, "</v></c>");
    fwrite(line, 1, (size_t)(out - line), self->file);
}

// Whether C's `isspace` holds for `c` in the C locale.
static int is_space(unsigned char c) {
    return c == ' ' || (c >= '\t' && c <= '\r');
}

__attribute__((visibility("default")))
void _write_inline_string_cell(lxw_worksheet *self, char *range, int32_t style_index, lxw_cell *cell) {
    if (library_writes_cells()) { library_inline_string(self, range, style_index, cell); return; }
    const char *text = cell->u.string ? cell->u.string : "";
    size_t length = strlen(text);
    enum { SMALL = 1024 };
    char small[SMALL];
    size_t room = 96 + length * 5;
    char *line = room <= SMALL ? small : malloc(room);
    if (line == NULL) return;
    char *out = cell_start(line, range, style_index);
    out = PUT(out, " t=\"inlineStr\"><is>");
    if (length && (is_space((unsigned char)text[0]) || is_space((unsigned char)text[length - 1])))
        out = PUT(out, "<t xml:space=\"preserve\">");
    else
        out = PUT(out, "<t>");
    out = escape_xml_data(out, text);
    out = PUT(out, "</t></is></c>");
    fwrite(line, 1, (size_t)(out - line), self->file);
    if (line != small) free(line);
}

// Every other kind of cell is written by libxlsxwriter's `_write_cell`, which comes back here
// for numbers and texts; a blank cell (an input cell with a format and no value, two per row of
// a decision sheet) is written here: `<c r="A1" s="3"/>`, only when it has a format of its own,
// without the two attribute records of 4 KB each that the library allocates for it.
__attribute__((visibility("default")))
void _write_cell(lxw_worksheet *self, lxw_cell *cell, lxw_format *row_format) {
    int library_writes = library_writes_cells();   // finds libxlsxwriter's functions on the first call
    if (cell->type != BLANK_CELL || library_writes) {
        if (library_cell != NULL) library_cell(self, cell, row_format);
        return;
    }
    if (cell->format == NULL) return;
    char range[LXW_MAX_CELL_NAME_LENGTH];
    lxw_rowcol_to_cell(range, cell->row_num, cell->col_num);
    char line[64];
    char *out = cell_start(line, range, lxw_format_get_xf_index(cell->format));
    out = PUT(out, "/>");
    fwrite(line, 1, (size_t)(out - line), self->file);
}

// A plain row (`<row r="7">`: no spans, format, height, outline or hiding, as every row of the
// desk's constant-memory sheets is) is written here; any other goes to libxlsxwriter.
__attribute__((visibility("default")))
void _write_row(lxw_worksheet *self, lxw_row *row, char *spans) {
    double height = row->height_changed ? row->height : self->default_row_height;
    if (library_writes_cells() || spans != NULL || row->format != NULL || height != LXW_DEF_ROW_HEIGHT
        || row->hidden || row->level || row->collapsed || self->excel_version == 2010) {
        if (library_row != NULL) library_row(self, row, spans);
        return;
    }
    char line[40];
    char *out = PUT(line, "<row r=\"");
    out = decimal(out, (unsigned long long)row->row_num + 1);
    out = row->data_changed ? PUT(out, "\">") : PUT(out, "\"/>");
    fwrite(line, 1, (size_t)(out - line), self->file);
}
