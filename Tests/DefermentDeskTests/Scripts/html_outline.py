#!/usr/bin/env python3
"""Parses an HTML page with Python's html.parser (an independent parser) and prints, as JSON,
what the page tests check: title, headings, links, scripts, and every table as rows of cells
with their text and classes. Also reports parse problems (unclosed or mismatched tags)."""
import json, sys
from html.parser import HTMLParser

VOID = {"meta", "link", "br", "img", "input", "hr", "col", "source", "wbr", "area", "base", "rect"}


class Outline(HTMLParser):
    def __init__(self):
        super().__init__(convert_charrefs=True)
        self.stack, self.problems = [], []
        self.title, self.headings, self.links, self.scripts, self.tables = "", [], [], [], []
        self.text_target = None
        self.row = None
        self.cell = None
        self.lang = None

    def handle_starttag(self, tag, attrs):
        a = dict(attrs)
        if tag == "html":
            self.lang = a.get("lang")
        if tag not in VOID:
            self.stack.append(tag)
        if tag == "a":
            self.links.append({"href": a.get("href"), "text": ""})
        if tag == "script":
            self.scripts.append({"src": a.get("src"), "inline": ""})
        if tag == "table":
            self.tables.append({"class": a.get("class", ""), "rows": []})
        if tag == "tr" and self.tables:
            self.row = {"class": a.get("class", ""), "id": a.get("id"), "cells": []}
            self.tables[-1]["rows"].append(self.row)
        if tag in ("td", "th") and self.row is not None:
            self.cell = {"tag": tag, "class": a.get("class", ""), "text": ""}
            self.row["cells"].append(self.cell)
        if tag in ("h1", "h2", "h3"):
            self.headings.append({"level": tag, "text": ""})

    def handle_startendtag(self, tag, attrs):
        self.handle_starttag(tag, attrs)
        if tag not in VOID and self.stack and self.stack[-1] == tag:
            self.stack.pop()

    def handle_endtag(self, tag):
        if tag in VOID:
            return
        if not self.stack or self.stack[-1] != tag:
            self.problems.append(f"unexpected </{tag}> with open {self.stack[-3:]}")
            if tag in self.stack:
                while self.stack and self.stack.pop() != tag:
                    pass
            return
        self.stack.pop()
        if tag in ("td", "th"):
            self.cell = None
        if tag == "tr":
            self.row = None

    def handle_data(self, data):
        if "title" in self.stack and "svg" not in self.stack:
            self.title += data
        if self.cell is not None:
            self.cell["text"] += data
        if "a" in self.stack and self.links:
            self.links[-1]["text"] += data
        if self.stack and self.stack[-1] == "script":
            self.scripts[-1]["inline"] += data
        if self.stack and self.stack[-1] in ("h1", "h2", "h3") and self.headings:
            self.headings[-1]["text"] += data


def outline(path):
    p = Outline()
    p.feed(open(path, encoding="utf-8").read())
    p.close()
    if p.stack:
        p.problems.append(f"unclosed {p.stack}")
    for t in p.tables:
        for r in t["rows"]:
            for c in r["cells"]:
                c["text"] = " ".join(c["text"].split())
    return {"lang": p.lang, "title": p.title.strip(), "headings": p.headings, "links": p.links,
            "scripts": p.scripts, "tables": p.tables, "problems": p.problems}


# One file: its outline. Several: {path: outline}.
if len(sys.argv) == 2:
    print(json.dumps(outline(sys.argv[1]), ensure_ascii=False))
else:
    print(json.dumps({path: outline(path) for path in sys.argv[1:]}, ensure_ascii=False))
