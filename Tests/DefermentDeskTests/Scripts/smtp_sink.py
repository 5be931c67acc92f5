"""A real SMTP server on loopback (aiosmtpd) that stores every message it receives.

usage: smtp_sink.py PORT OUTDIR   — prints "ready" once listening; stops when stdin closes.
Each message is saved as NNNN.eml with its envelope recipients in NNNN.rcpt.
"""
import os
import sys

from aiosmtpd.controller import Controller

port, out = int(sys.argv[1]), sys.argv[2]
os.makedirs(out, exist_ok=True)


class Store:
    async def handle_DATA(self, server, session, envelope):
        n = len([f for f in os.listdir(out) if f.endswith(".eml")])
        with open(os.path.join(out, "%04d.rcpt" % n), "w") as f:
            f.write("\n".join(envelope.rcpt_tos))
        with open(os.path.join(out, "%04d.eml" % n), "wb") as f:
            f.write(envelope.original_content or envelope.content)
        return "250 Message accepted"


controller = Controller(Store(), hostname="127.0.0.1", port=port)
controller.start()
print("ready", flush=True)
sys.stdin.read()
controller.stop()
