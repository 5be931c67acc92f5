#ifndef DEFERMENT_WORKBOOK_ZIP_H
#define DEFERMENT_WORKBOOK_ZIP_H

/// The zlib level the desk's workbooks are compressed at (see workbook_zip.c).
int deferment_workbook_zip_level(void);

#endif
