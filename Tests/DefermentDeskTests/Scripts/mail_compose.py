"""Delivers messages into a Maildir the way real mail clients build them (Python's email package).

usage: mail_compose.py MAILDIR SPEC_JSON
SPEC: a list of messages, each {"from", "message_id", "subject", "style", "attachments": [{"path", "name"}]}
  style "gmail":    multipart/mixed, base64 attachments, non-ASCII names in RFC 2231 (filename*=utf-8'')
  style "outlook":  multipart/mixed, base64, names as RFC 2047 encoded words (name="=?utf-8?b?...?=")
  style "qp":       the attachment as text/csv in quoted-printable
  style "forward":  the message wrapped as message/rfc822 inside a forwarding message
  style "broken":   a multipart message without its boundary parameter
  style "text":     a plain text message whose body is "body" (a request pasted by a mail client)
"""
import json, mailbox, quopri, sys
from email.header import Header
from email.message import EmailMessage
from email.mime.base import MIMEBase
from email.mime.multipart import MIMEMultipart
from email.mime.text import MIMEText
from email import encoders
from email.utils import formatdate

XLSX = ("application", "vnd.openxmlformats-officedocument.spreadsheetml.sheet")


def build(spec):
    style = spec.get("style", "gmail")
    atts = spec.get("attachments", [])
    if style == "broken":
        raw = ("From: %s\nTo: desk@example.gov.tw\nSubject: broken\nMessage-ID: <%s>\nMIME-Version: 1.0\n"
               "Content-Type: multipart/mixed\n\n--x\nContent-Type: text/plain\n\nhello\n--x--\n") % (spec["from"], spec["message_id"])
        return raw.encode()
    if style == "text":
        msg = EmailMessage()
        msg["From"] = spec["from"]
        msg["To"] = "deferment-desk@example.gov.tw"
        msg["Subject"] = spec.get("subject", "帳號維護申請")
        msg["Message-ID"] = "<%s>" % spec["message_id"]
        msg.set_content(spec["body"])
        return msg.as_bytes()
    if style in ("gmail", "forward"):
        msg = EmailMessage()
        msg["From"] = spec["from"]
        msg["To"] = "deferment-desk@example.gov.tw"
        msg["Subject"] = spec.get("subject", "回覆：審核名冊")
        msg["Date"] = formatdate(localtime=True)
        msg["Message-ID"] = "<%s>" % spec["message_id"]
        msg.set_content("承辦人您好，附上審核名冊。")
        for a in atts:
            data = open(a["path"], "rb").read()
            if a["name"].endswith(".csv"):
                msg.add_attachment(data, maintype="text", subtype="csv", filename=a["name"])
            else:
                msg.add_attachment(data, maintype=XLSX[0], subtype=XLSX[1], filename=a["name"])
        if style == "gmail":
            return msg.as_bytes()
        outer = EmailMessage()
        outer["From"] = spec["from"]
        outer["To"] = "deferment-desk@example.gov.tw"
        outer["Subject"] = "Fwd: " + spec.get("subject", "審核名冊")
        outer["Message-ID"] = "<fwd-%s>" % spec["message_id"]
        outer.set_content("轉寄審核名冊。")
        outer.add_attachment(msg)
        return outer.as_bytes()
    msg = MIMEMultipart("mixed")
    msg["From"] = spec["from"]
    msg["To"] = "deferment-desk@example.gov.tw"
    msg["Subject"] = Header(spec.get("subject", "審核名冊"), "utf-8").encode()
    msg["Message-ID"] = "<%s>" % spec["message_id"]
    msg.attach(MIMEText("附上審核名冊。", "plain", "utf-8"))
    for a in atts:
        data = open(a["path"], "rb").read()
        encoded_name = Header(a["name"], "utf-8").encode()
        if style == "qp":
            part = MIMEBase("text", "csv", charset="utf-8", name=encoded_name)
            part.set_payload(quopri.encodestring(data).decode("ascii"))
            part["Content-Transfer-Encoding"] = "quoted-printable"
        else:
            part = MIMEBase(XLSX[0], XLSX[1], name=encoded_name)
            part.set_payload(data)
            encoders.encode_base64(part)
        part.add_header("Content-Disposition", "attachment", filename=encoded_name)
        msg.attach(part)
    return msg.as_bytes()


box = mailbox.Maildir(sys.argv[1], create=True)
for spec in json.loads(sys.argv[2]):
    box.add(build(spec))
print("ok")
