"""Parses .eml files with Python's email package (an independent RFC 5322/2047 reader).

usage: mail_parse.py FILE...   — prints JSON: one object per file with the decoded headers, the
decoded text body, the raw header lines and the longest raw line.
"""
import email
import email.policy
import json
import sys

result = {}
for path in sys.argv[1:]:
    raw = open(path, "rb").read()
    m = email.message_from_bytes(raw, policy=email.policy.default)
    head = raw.split(b"\r\n\r\n", 1)[0].decode("ascii")
    result[path] = {
        "subject": str(m["Subject"]), "from": str(m["From"]), "to": str(m["To"]),
        "date": str(m["Date"]), "message_id": str(m["Message-ID"]), "kind": str(m["X-Deferment-Kind"]),
        "content_type": m.get_content_type(), "charset": m.get_content_charset(),
        "body": m.get_content(), "raw_header": head,
        "longest_line": max(len(l) for l in raw.split(b"\r\n")),
        "defects": [str(d) for d in m.defects],
    }
print(json.dumps(result, ensure_ascii=False))
