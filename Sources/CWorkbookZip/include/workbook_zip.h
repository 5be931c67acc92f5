#ifndef DEFERMENT_WORKBOOK_ZIP_H
#define DEFERMENT_WORKBOOK_ZIP_H

/// The DEFLATE level (ISA-L's) the desk's workbooks are compressed at (see workbook_zip.c).
int deferment_workbook_zip_level(void);

#endif
