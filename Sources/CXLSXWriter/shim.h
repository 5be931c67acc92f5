// libxlsxwriter (Debian libxlsxwriter-dev), the library the desk writes its workbooks with.
#include <xlsxwriter.h>
