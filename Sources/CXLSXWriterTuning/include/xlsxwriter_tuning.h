#ifndef DEFERMENT_XLSXWRITER_TUNING_H
#define DEFERMENT_XLSXWRITER_TUNING_H

/// How the name of a workbook's own folder begins (made by `Workbook.init`); libxlsxwriter's
/// temporary files in such a folder are buffered (see workbook_tmpfile.c).
#define DEFERMENT_WORKBOOK_FOLDER_PREFIX "deferment-workbook-"

/// Whether libxlsxwriter's own functions format number and text cells (1) or the desk's faster
/// ones that write the same bytes (0, the default; see workbook_cells.c).
void deferment_workbook_cells_by_library(int yes);

#endif
