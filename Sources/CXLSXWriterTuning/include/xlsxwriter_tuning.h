#ifndef DEFERMENT_XLSXWRITER_TUNING_H
#define DEFERMENT_XLSXWRITER_TUNING_H

/// The DEFLATE level (ISA-L's) the desk's workbooks are compressed at (see workbook_zip.c).
int deferment_workbook_zip_level(void);

#endif
