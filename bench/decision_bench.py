"""Decision workbooks (issue 4): reading a returned 100,000-row workbook against openpyxl's
read-only mode, and writing one against Python's XlsxWriter, each pair in this invocation.

Both sides do the same work:
- read: open the workbook, stream every row of every sheet and pick out 序號, the identity cells,
  審核結果 and 審核意見 (`deferment decisions read FILE` does exactly that with the desk's reader);
- write: a cover sheet, then 申請緩徵名冊 and 離校學生名冊 with 15 columns, formats, an unlocked
  input column pair, a dropdown and sheet protection (`deferment decisions synthetic`).
"""
import json, os, subprocess, sys, time

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from common import parse_args  # noqa: E402

COLUMNS = ["序號", "學校代碼", "學校名稱", "身分證字號", "姓名", "出生年月日", "群科", "年級", "學籍狀態",
           "緩徵起始日期", "緩徵終止日期", "系統檢核", "目前狀態", "審核結果", "審核意見"]

OPENPYXL_READ = r'''
import sys, openpyxl
wb = openpyxl.load_workbook(sys.argv[1], read_only=True)
n = 0
for ws in wb.worksheets:
    header = None
    for row in ws.iter_rows(values_only=True):
        if header is None:
            if row and "序號" in row and "審核結果" in row:
                header = {v: i for i, v in enumerate(row)}
            continue
        picked = (row[header["序號"]], row[header["身分證字號"]], row[header["姓名"]], row[header["出生年月日"]],
                  row[header["審核結果"]], row[header["審核意見"]])
        n += 1
print(n)
'''

XLSXWRITER_WRITE = r'''
import sys, xlsxwriter
rows, out = int(sys.argv[1]), sys.argv[2]
COLUMNS = %r
wb = xlsxwriter.Workbook(out, {"constant_memory": True})
bold = wb.add_format({"bold": True}); header = wb.add_format({"bold": True, "bg_color": "#DDE6F0"})
inp = wb.add_format({"bg_color": "#FFF5CC", "locked": False}); inp_wrap = wb.add_format({"bg_color": "#FFF5CC", "locked": False, "text_wrap": True})
wrap = wb.add_format({"text_wrap": True})
cover = wb.add_worksheet("封面")
cover.write(0, 0, "臺北市政府・在學緩徵名冊審核", bold); cover.write(1, 0, "驗證碼（請勿修改）"); cover.write(1, 1, "DDT1-63000-20261115-0")
for r, label in ((2, "承辦人"), (3, "核定人"), (4, "核定日期")):
    cover.write(r, 0, label, bold); cover.write(r, 1, "", inp)
for i in range(8): cover.write(6 + i, 0, "統計", bold); cover.write(6 + i, 1, "%%d 筆" %% i)
for i in range(8): cover.write(16 + i, 0, "填寫說明第 %%d 點：請於審核結果欄選擇核准或未核准。" %% i)
cover.protect()
data = []
for i in range(rows):
    digits = "%%09d" %% ((i * 7919) %% 1000000000)
    leaving = i %% 9 == 0
    data.append((leaving, [i + 1, "%%06d" %% (100000 + i %% 500), "示範高級中學%%d" %% (i %% 500), "A1" + digits[-8:], "測試生%%d" %% i,
                 "2007-0%%d-1%%d" %% (1 + i %% 9, i %% 10), "普通科", str(1 + i %% 3), "休學" if leaving else "在學", "2026-08-01", "2027-06-30",
                 "逾就學年齡限制" if i %% 13 == 0 else "", "待審核"]))
for name, want in (("申請緩徵名冊", False), ("離校學生名冊", True)):
    ws = wb.add_worksheet(name)
    ws.write(0, 0, "驗證碼（請勿修改）"); ws.write(0, 2, "DDT1-63000-20261115-0")
    for k, label in enumerate(("承辦人", "核定人", "核定日期")):
        ws.write(1, k * 2, label); ws.write_formula(1, k * 2 + 1, "=IF('封面'!B%%d=\"\",\"\",'封面'!B%%d)" %% (k + 3, k + 3), None, "")
    for c, h in enumerate(COLUMNS): ws.write(2, c, h, header)
    y = 3
    for leaving, values in data:
        if leaving != want: continue
        ws.write_number(y, 0, values[0])
        for c in range(1, 11): ws.write_string(y, c, values[c])
        if values[11]: ws.write_string(y, 11, values[11], wrap)
        ws.write_string(y, 12, values[12]); ws.write_blank(y, 13, None, inp); ws.write_blank(y, 14, None, inp_wrap)
        y += 1
    ws.freeze_panes(3, 0); ws.autofilter(2, 0, max(3, y - 1), len(COLUMNS) - 1)
    ws.data_validation(3, 13, max(3, y - 1), 13, {"validate": "list", "source": ["核准", "未核准"]})
    ws.protect("", {"autofilter": True, "sort": True, "format_columns": True})
wb.close()
''' % (COLUMNS,)


def timed(cmd):
    start = time.perf_counter()
    subprocess.run(cmd, check=True, stdout=subprocess.DEVNULL)
    return time.perf_counter() - start


def best(cmd, runs=3):
    return min(timed(cmd) for _ in range(runs))


def main():
    args = parse_args()
    rows = int(os.environ.get("DECISION_ROWS", "100000"))
    os.makedirs(args.out, exist_ok=True)
    returned = os.path.join(args.out, "decisions-returned.xlsx")
    subprocess.run([args.bin, "decisions", "synthetic", "--rows", str(rows), "--decided", "--out", returned], check=True, stdout=subprocess.DEVNULL)

    ours_read = best([args.bin, "decisions", "read", returned])
    ref_read = best([sys.executable, "-c", OPENPYXL_READ, returned])
    ours_write = best([args.bin, "decisions", "synthetic", "--rows", str(rows), "--out", os.path.join(args.out, "decisions-ours.xlsx")])
    ref_write = best([sys.executable, "-c", XLSXWRITER_WRITE, str(rows), os.path.join(args.out, "decisions-xlsxwriter.xlsx")])

    results = {
        "rows": rows,
        "read_seconds": round(ours_read, 3), "openpyxl_read_only_seconds": round(ref_read, 3),
        "read_speedup": round(ref_read / ours_read, 2),
        "write_seconds": round(ours_write, 3), "xlsxwriter_seconds": round(ref_write, 3),
        "write_speedup": round(ref_write / ours_write, 2),
    }
    print(f"decision workbook, {rows} rows (best of 3, whole processes):")
    print(f"  read : deferment {ours_read:.2f} s, openpyxl read-only {ref_read:.2f} s → {results['read_speedup']}× (goal ≥ 10×)")
    print(f"  write: deferment {ours_write:.2f} s, XlsxWriter {ref_write:.2f} s → {results['write_speedup']}× (goal ≥ 4×)")
    json.dump(results, open(os.path.join(args.out, "decision_results.json"), "w"), indent=2, ensure_ascii=False)


if __name__ == "__main__":
    main()
