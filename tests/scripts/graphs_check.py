#!/usr/bin/env python3
"""Checks an SVG of `synack trace --svg` / `synack demo --svg`, or the SVG inside their
--html page, for tests/scripts/graphs_cli.sh. Exits 1 with a line saying what is wrong."""
import argparse
import re
import sys
import xml.etree.ElementTree as ET

NS = "{http://www.w3.org/2000/svg}"


def fail(msg):
    print("  " + msg)
    sys.exit(1)


def page_svg(text):
    """The page is one file: no resource fetched; its one SVG, as text."""
    if not text.startswith("<!DOCTYPE html>"):
        fail("the page does not start with <!DOCTYPE html>")
    for bad in ("src=", "href=", "url(", "@import", "<script", "<link"):
        if bad in text:
            fail("the page refers to something outside it: " + bad)
    svgs = re.findall(r"<svg .*?</svg>", text, re.S)
    if len(svgs) != 1:
        fail("the page holds %d SVGs, not 1" % len(svgs))
    return svgs[0]


def panel_points(g):
    """The drawn data of a panel: dots, lines, polyline points."""
    n = len(g.findall(NS + "circle")) + len(g.findall(NS + "line"))
    for p in g.findall(NS + "polyline"):
        n += len(p.get("points").split())
    return n


def rtt_samples(root):
    got = []
    for c in root.iter(NS + "circle"):
        if c.get("class") == "rtt":
            m = re.search(r"rtt ([0-9.]+) ms", c.find(NS + "title").text)
            got.append(float(m.group(1)))
    return got


def check_rtt(root, a):
    rtts = rtt_samples(root)
    if len(rtts) < a.min_rtt_samples:
        fail("%d RTT samples, fewer than %d" % (len(rtts), a.min_rtt_samples))
    if rtts and a.rtt_min_ms is not None and min(rtts) < a.rtt_min_ms:
        fail("an RTT sample of %.3f ms, below %.3f" % (min(rtts), a.rtt_min_ms))
    if rtts and a.rtt_max_ms is not None and max(rtts) > a.rtt_max_ms:
        fail("an RTT sample of %.3f ms, above %.3f" % (max(rtts), a.rtt_max_ms))


def check_panels(root, a):
    panels = {g.get("id"): g for g in root.iter(NS + "g") if g.get("class") == "panel"}
    for name in filter(None, a.panels.split(",")):
        g = panels.get("panel-" + name)
        if g is None:
            fail("no panel-%s among %s" % (name, sorted(panels)))
        if panel_points(g) == 0:
            fail("panel-%s draws no data" % name)
    for name in a.no_panel:
        if "panel-" + name in panels:
            fail("a panel-%s it should not have" % name)
    tsg = panels.get("panel-tsg")
    if a.retransmissions and not any(l.get("stroke") == "red" for l in tsg.iter(NS + "line")):
        fail("no retransmission (red) in the time-sequence graph")
    if a.karn_skipped:
        title = "".join(panels["panel-rtt"].itertext())
        m = re.search(r"Karn: (\d+) ACKs", title)
        if not m or int(m.group(1)) == 0:
            fail("no ACK skipped for Karn's rule: " + title[:120])


def main():
    p = argparse.ArgumentParser()
    p.add_argument("file")
    p.add_argument("--html", action="store_true")
    p.add_argument("--panels", default="")
    p.add_argument("--no-panel", action="append", default=[])
    p.add_argument("--rtt-min-ms", type=float)
    p.add_argument("--rtt-max-ms", type=float)
    p.add_argument("--min-rtt-samples", type=int, default=0)
    p.add_argument("--karn-skipped", action="store_true")
    p.add_argument("--retransmissions", action="store_true")
    p.add_argument("--partial", action="store_true")
    p.add_argument("--not-partial", action="store_true")
    p.add_argument("--contains", action="append", default=[])
    a = p.parse_args()
    text = open(a.file, encoding="utf-8").read()
    for pattern in a.contains:
        if not re.search(pattern, text):
            fail("no match for '%s'" % pattern)
    try:
        root = ET.fromstring(page_svg(text) if a.html else text.encode())
    except ET.ParseError as e:
        fail("the SVG does not parse as XML: %s" % e)
    if root.tag != NS + "svg":
        fail("the root element is %s, not svg" % root.tag)
    check_panels(root, a)
    check_rtt(root, a)
    partial = any(e.get("id") == "partial" for e in root.iter())
    if a.partial and not partial:
        fail("not marked partial")
    if a.not_partial and partial:
        fail("marked partial")


main()
