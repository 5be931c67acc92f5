"""Every cell of every sheet of XLSX workbooks, as two independent readers see them.

usage: workbook_cells.py OUTDIR FILE.xlsx...
Prints JSON {file: {"openpyxl": {sheet: rows}, "libreoffice": {sheet: rows}}}: each row a list of
texts (numbers as LibreOffice shows them, formulas by their cached value), trailing empty cells
and rows dropped. LibreOffice is Debian's headless Calc (`soffice --convert-to csv`, every sheet
to its own file), with a profile of its own so that tests can run side by side.
"""
import csv, glob, json, os, subprocess, sys

import openpyxl


def text(v):
    if v is None:
        return ""
    if isinstance(v, float) and v.is_integer():
        return str(int(v))
    return str(v)


def trimmed(rows):
    rows = [list(r) for r in rows]
    for r in rows:
        while r and r[-1] == "":
            r.pop()
    while rows and not rows[-1]:
        rows.pop()
    return rows


def by_openpyxl(path):
    wb = openpyxl.load_workbook(path, data_only=True)
    return {ws.title: trimmed([[text(c) for c in row] for row in ws.iter_rows(values_only=True)]) for ws in wb.worksheets}


def by_libreoffice(paths, out):
    profile = "file://" + os.path.join(out, "lo-profile")
    # 44 comma, 34 quote, 76 UTF-8, then: first line 1, cell formats as shown, ..., -1 every sheet.
    filt = "csv:Text - txt - csv (StarCalc):44,34,76,1,,0,false,true,false,false,false,-1"
    subprocess.run(["soffice", "-env:UserInstallation=" + profile, "--headless", "--convert-to", filt, "--outdir", out] + paths,
                   check=True, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, timeout=300)
    result = {}
    for path in paths:
        stem = os.path.splitext(os.path.basename(path))[0]
        sheets = {}
        for name in sorted(glob.glob(os.path.join(glob.escape(out), glob.escape(stem) + "-*.csv"))):
            sheet = os.path.basename(name)[len(stem) + 1:-4]
            with open(name, encoding="utf-8", newline="") as f:
                sheets[sheet] = trimmed(list(csv.reader(f)))
        result[path] = sheets
    return result


def main():
    out, paths = sys.argv[1], sys.argv[2:]
    os.makedirs(out, exist_ok=True)
    lo = by_libreoffice(paths, out)
    print(json.dumps({p: {"openpyxl": by_openpyxl(p), "libreoffice": lo[p]} for p in paths}, ensure_ascii=False))


if __name__ == "__main__":
    main()
