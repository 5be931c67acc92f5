"""Edits a decision workbook the way county staff would, with openpyxl (a writer independent of
the desk's libxlsxwriter), and saves it as XLSX or exports one sheet as CSV.

usage: edit_decisions.py IN OUT SPEC_JSON

SPEC keys (all optional):
  signoff:   {"reviewer": ..., "approver": ..., "date": ...}    cover fields
  decisions: [{"sheet": name, "row": n, "decision": ..., "comment": ...}]   n = data row, 0-based
  set:       [{"sheet": name, "row": n, "column": header, "value": ...}]    any cell (tampering)
  drop_token: true        blank the token cells
  token:     "text"       replace the token
  csv:       sheet name   write OUT as a CSV export of that sheet (values; row 2 carries the sign-off)
  read:      true         print JSON of every sheet's data rows (header name -> value) instead
"""
import csv
import json
import sys

import openpyxl

src, out, spec = sys.argv[1], sys.argv[2], json.loads(sys.argv[3])
wb = openpyxl.load_workbook(src)
HEADER_ROW = 3  # 1-based: token, sign-off, header


def columns(ws):
    return {c.value: c.column for c in ws[HEADER_ROW] if c.value}


if spec.get("read"):
    result = {}
    for ws in wb.worksheets[1:]:
        cols = columns(ws)
        rows = []
        for r in range(HEADER_ROW + 1, ws.max_row + 1):
            rows.append({name: ws.cell(row=r, column=c).value for name, c in cols.items()})
        result[ws.title] = rows
    print(json.dumps(result, ensure_ascii=False))
    sys.exit(0)

cover = wb["封面"]
labels = {cover.cell(row=r, column=1).value: r for r in range(1, 12)}
signoff = spec.get("signoff", {})
for key, label in (("reviewer", "承辦人"), ("approver", "核定人"), ("date", "核定日期")):
    if key in signoff:
        cover.cell(row=labels[label], column=2).value = signoff[key]

for d in spec.get("decisions", []):
    ws = wb[d["sheet"]]
    cols = columns(ws)
    r = HEADER_ROW + 1 + d["row"]
    ws.cell(row=r, column=cols["審核結果"]).value = d.get("decision")
    ws.cell(row=r, column=cols["審核意見"]).value = d.get("comment")

for s in spec.get("set", []):
    ws = wb[s["sheet"]]
    ws.cell(row=HEADER_ROW + 1 + s["row"], column=columns(ws)[s["column"]]).value = s["value"]

if spec.get("drop_token") or "token" in spec:
    value = spec.get("token")
    cover.cell(row=labels["驗證碼（請勿修改）"], column=2).value = value
    for ws in wb.worksheets[1:]:
        ws.cell(row=1, column=3).value = value

if "csv" in spec:
    ws = wb[spec["csv"]]
    sign = [cover.cell(row=labels[l], column=2).value or "" for l in ("承辦人", "核定人", "核定日期")]
    with open(out, "w", newline="", encoding="utf-8-sig") as f:
        w = csv.writer(f)
        for i, row in enumerate(ws.iter_rows(values_only=True), start=1):
            values = ["" if v is None else str(v) for v in row]
            if i == 2:  # what a spreadsheet shows for the formulas that copy the cover's sign-off
                values = ["承辦人", sign[0], "核定人", sign[1], "核定日期", str(sign[2])]
            w.writerow(values)
else:
    wb.save(out)
