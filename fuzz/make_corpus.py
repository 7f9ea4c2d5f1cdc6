#!/usr/bin/env python3
"""Writes the seed corpora of the fuzz targets (fuzz/corpus/<target>/).

    python3 fuzz/make_corpus.py BUILD_DIR [TARGET...]

Seeds are small inputs that already reach deep: for the stack, records that drive the
scripted connections through data, loss, close, resets, keepalive, ICMP and the listener;
for the wire parsers, every packet of `synack demo --pcap` captures (loss, simultaneous
open and close, SACK, timestamps) plus ICMP messages, and IPv6 packets (every extension
header, fragments, each unknown-option action), ICMPv6 messages and UDP over both families;
for the scenarios, the HTTP server and the command-line options, typical and edge values;
for the fragment reassembler, datagrams in order, reversed, shuffled, duplicated, overlapped,
timed out, flooding a small cap, malformed, and fragmentation plans; for input batches,
conversations over both families (handshakes, data, a reset and a new SYN on its tuple in
one batch), raw and vouched-for packets and a batch longer than one call takes. The record formats are
the ones
fuzz/fuzz_<target>.c documents. The output is deterministic; the corpus is committed, so
`make test` needs neither this script nor libFuzzer.
"""
import os
import struct
import subprocess
import sys
import tempfile

HERE = os.path.dirname(os.path.abspath(__file__))

# ---- stack records ----------------------------------------------------------------------

FIN, SYN, RST, PSH, ACK = 0x01, 0x02, 0x04, 0x08, 0x10
A, B, C = 0, 1, 2  # the scene's tuples: accepted, active, closed by the application


def rec(ctl, act, arg, payload=b""):
    n = len(payload)
    if n > 255:
        payload += b"\0" * (-n % 8)  # long payloads come in units of 8 bytes
        assert len(payload) // 8 < 256
        return bytes([ctl | 0x80, act, arg, len(payload) // 8]) + payload
    return bytes([ctl, act, arg, n]) + payload


def seg(tup, flags, seq_off=0, ack_off=0, window=65535, ts=False, old_ts=False, sack=0,
        data=b""):
    opt = (1 if ts else 0) | (2 if old_ts else 0) | ((4 | ((sack - 1) << 5)) if sack else 0)
    hdr = struct.pack(">iiHBBB", seq_off, ack_off, window, opt, 3, 40)
    return rec(0x03 | (tup << 4), 1, flags, hdr + data)


def advance(k):  # 0, 1us, 1ms, 40ms, 200ms, 1s, next deadline, 60s
    return rec(0, 0, k)


def app(act, slot, data=b""):
    return rec(0, act, slot, data)


def icmp(tup, typ, code, back=0, mtu=1280, total=1500, router=False):
    arg = (typ & 3) | ((code & 15) << 2)
    return rec((8 if router else 0) | (tup << 4), 2, arg, struct.pack(">HHH", back, mtu, total))


def udp(kind, arg=0, data=b"", fragments=False, connected=False):
    # kind: 0 datagram to port 53, 1 to the closed port 54, 2 send, 3 recv, 4 connect, 5 close/bind
    ctl = 0x40 | ((kind & 3) << 4) | (8 if kind & 4 else 0) | (2 if (fragments or connected) else 0)
    return rec(ctl, 12, arg, data)


def stack_seeds():
    s = {}
    ts_scene = bytes([0x07, 0x07])  # ts, sack, wscale; B established, C closed, delack
    plain = bytes([0x00, 0x03])
    s["data-both-ways"] = ts_scene + b"".join([
        seg(A, ACK | PSH, data=b"hello" * 40, ts=True), advance(2),
        app(3, 0, b"x" * 200), seg(A, ACK, ack_off=0, ts=True), app(4, 0), advance(3),
        seg(B, ACK | PSH, data=b"y" * 100, ts=True), app(3, 1, b"z" * 300), advance(6)])
    s["out-of-order-and-sack"] = ts_scene + b"".join([
        seg(A, ACK | PSH, seq_off=1000, data=b"a" * 500, ts=True),
        seg(A, ACK | PSH, seq_off=2000, data=b"b" * 500, ts=True),
        seg(A, ACK | PSH, seq_off=0, data=b"c" * 1000, ts=True), app(4, 0), advance(2)])
    s["sender-loss-and-sack"] = ts_scene + b"".join(
        [app(3, 0, b"d" * 1400)] * 8 + [seg(A, ACK, ack_off=-5000, sack=2, ts=True)] * 4 +
        [advance(6), advance(6), seg(A, ACK, ts=True)])
    s["close-handshakes"] = plain + b"".join([
        app(5, 0), seg(A, ACK), seg(A, FIN | ACK), advance(6), app(6, 1),
        seg(B, FIN | ACK), advance(7), advance(7)])
    s["resets"] = plain + b"".join([
        seg(A, RST, seq_off=10), seg(A, RST, seq_off=0), seg(B, SYN, seq_off=5),
        seg(B, RST | ACK, seq_off=0), advance(5)])
    s["keepalive-fin-wait-2"] = bytes([0x10, 0x02]) + b"".join(
        [seg(C, ACK, ack_off=0)] + [advance(6)] * 8)
    s["zero-window"] = bytes([0x08, 0x05]) + b"".join([
        app(3, 0, b"w" * 255), seg(A, ACK, window=0), advance(6), advance(6),
        seg(A, ACK, window=0), advance(6), seg(A, ACK, window=512), app(4, 0), advance(6)])
    s["icmp-errors"] = plain + b"".join([
        app(3, 0, b"i" * 1400), app(3, 0, b"j" * 1400), icmp(A, 0, 4, back=2800, mtu=576),
        icmp(A, 0, 3, back=100), icmp(B, 1, 0, router=True), icmp(B, 0, 1), advance(6),
        advance(6)])
    s["listener-and-cookies"] = bytes([0x00, 0x48]) + b"".join(
        [rec(0x04, 1, 0, struct.pack(">BBHHHBBHII", 0x45, 0, 40, 1, 0, 64, 6, 0,
                                     0xc6120002, 0xc6120001) +
             struct.pack(">HHIIBBHHH", 30000 + i, 80, 5000 * i, 0, 0x50, SYN, 65535, 0, 0))
         for i in range(6)] + [app(9, 0), app(11, 0), app(11, 0), app(10, 3), advance(5)])
    s["app-calls"] = plain + b"".join([
        rec(0, 8, 0, b"\x05"), rec(0, 8, 8, b"\x10"), rec(0, 8, 0x30), rec(0, 8, 0x18),
        app(7, 0), app(10, 5), app(6, 2), advance(6), advance(7)])
    s["tiny-buffers"] = bytes([0x38, 0x01]) + b"".join([
        app(3, 0, b"t" * 100), seg(A, ACK | PSH, data=b"u" * 300), app(4, 0),
        seg(A, ACK, window=1), advance(6), advance(6), app(4, 8)])
    # From port 50000 to 8081 (tuple 2), closed first by us: TIME_WAIT. 200 ms later (past
    # time_wait_reuse) the same connect takes it over; the peer's SYN-ACK with an old TSval meets the floor,
    # an ACK of the old incarnation (a peer still in LAST_ACK) gets a RST and the SYN again,
    # and a SYN-ACK above the floor opens the new incarnation.
    s["time-wait-reuse"] = bytes([0x01, 0x01]) + b"".join([
        app(10, 0x80 | 81), seg(2, SYN | ACK, ts=True), app(6, 2), seg(2, ACK, ts=True),
        seg(2, FIN | ACK, ts=True), advance(4), app(10, 0x80 | 81),
        seg(2, SYN | ACK, ts=True, old_ts=True), seg(2, ACK, ack_off=-100000, ts=True),
        seg(2, SYN | ACK, ts=True), seg(2, ACK | PSH, data=b"again", ts=True), advance(6)])
    tso_on = app(9, 0x81)  # the link takes every transmit offload from here on
    # Writes beyond cwnd wait; each ACK then lets several full segments go at once.
    s["tso-out-and-loss"] = ts_scene + b"".join(
        [tso_on] + [app(3, 0, b"g" * 2000)] * 30 + [seg(A, ACK, ack_off=-40000, ts=True)] +
        [seg(A, ACK, ack_off=-30000, sack=2, ts=True)] * 4 +
        [advance(6), seg(A, ACK, ts=True), app(3, 0, b"h" * 2000), app(9, 0x80),
         app(3, 0, b"i" * 2000), advance(6)])
    v6_scene = bytes([0x07, 0xc7])  # the same options over IPv6 (cookie field 3)
    s["ipv6-tso-out"] = v6_scene + b"".join(
        [tso_on] + [app(3, 0, b"k" * 2000)] * 24 + [seg(A, ACK, ack_off=-20000, ts=True),
                                                    seg(A, ACK, ts=True), advance(6)])
    s["ipv6-data-and-icmpv6"] = v6_scene + b"".join([
        seg(A, ACK | PSH, data=b"six" * 50, ts=True), app(4, 0), app(3, 0, b"v" * 1400),
        app(3, 0, b"w" * 1400), icmp(A, 1, 0, back=2800, mtu=1280), icmp(A, 0, 4, back=100),
        icmp(B, 3, 1), advance(6), seg(B, ACK | PSH, data=b"x" * 100, ts=True), advance(6)])
    for name, scene in (("udp-v4", plain), ("udp-v6", v6_scene)):
        s[name] = scene + b"".join([
            udp(0, 1, b"query"), udp(3, 8), udp(2, 1, b"answer"), udp(1, 2, b"nobody"),
            udp(0, 3, b"f" * 600, fragments=True), udp(3, 64), udp(4, 1), udp(2, 1, b"c"),
            icmp(A, 0, 3), udp(2, 0, b"g" * 2000), advance(2), udp(5), udp(5), advance(6)])
    return s


# ---- wire: packets cut from demo captures ----------------------------------------------

def pcap_packets(path):
    with open(path, "rb") as f:
        data = f.read()
    magic = struct.unpack("<I", data[:4])[0]
    endian = "<" if magic in (0xa1b2c3d4, 0xa1b23c4d) else ">"
    off = 24
    while off + 16 <= len(data):
        _, _, incl, _ = struct.unpack(endian + "IIII", data[off:off + 16])
        yield data[off + 16:off + 16 + incl]
        off += 16 + incl


def wire_seeds(build):
    synack = os.path.join(build, "synack")
    runs = [["--bytes", "8K"], ["--bytes", "32K", "--loss", "5%", "--seed", "3"],
            ["--simultaneous-open", "--bytes", "2K"], ["--simultaneous-close", "--bytes", "2K"],
            ["--no-timestamps", "--no-sack", "--bytes", "4K", "--loss", "10%"]]
    seeds, seen = {}, set()
    with tempfile.TemporaryDirectory() as tmp:
        for i, args in enumerate(runs):
            pcap = os.path.join(tmp, "d%d.pcap" % i)
            subprocess.run([synack, "demo", "--quiet", "--pcap", pcap] + args, check=False,
                           stdout=subprocess.DEVNULL)
            for pkt in pcap_packets(pcap):
                key = (len(pkt), pkt[20 + 13] if len(pkt) > 33 else 0, pkt[:40])
                if key in seen or len(seen) > 120:
                    continue
                seen.add(key)
                seeds["demo%d-%03d" % (i, len(seen))] = pkt
    # ICMP: an echo request and a fragmentation-needed quoting a TCP segment.
    echo = struct.pack(">BBHHH", 8, 0, 0, 7, 1) + b"ping" * 8
    seeds["icmp-echo"] = ipv4(1, echo)
    # Address text, for synack_addr_parse and synack_endpoint_parse.
    for i, text in enumerate(["198.18.0.1", "[2001:db8::1]:80", "::ffff:198.18.0.1",
                              "2001:db8:0:0:1:0:0:1", "198.18.0.1:65535", "fe80::1"]):
        seeds["text-%d" % i] = text.encode()
    quote = ipv4(6, b"\x00\x50\x9c\x40\x00\x00\x10\x00")[:28]
    seeds["icmp-frag-needed"] = ipv4(1, struct.pack(">BBHHH", 3, 4, 0, 0, 1280) + quote)
    seeds.update(wire6_seeds())
    return seeds


def csum(b):
    if len(b) % 2:
        b += b"\0"
    s = sum(struct.unpack(">%dH" % (len(b) // 2), b))
    while s >> 16:
        s = (s & 0xffff) + (s >> 16)
    return (~s) & 0xffff


def ipv4(proto, payload):
    if proto == 1:
        payload = payload[:2] + struct.pack(">H", csum(payload)) + payload[4:]
    hdr = struct.pack(">BBHHHBBHII", 0x45, 0, 20 + len(payload), 1, 0x4000, 64, proto, 0,
                      0xc6120002, 0xc6120001)
    hdr = hdr[:10] + struct.pack(">H", csum(hdr)) + hdr[12:]
    return hdr + payload


# ---- wire: IPv6 (RFC 8200), ICMPv6 (RFC 4443), UDP (RFC 768) --------------------------------

A6 = bytes.fromhex("20010db8000000000000000000000002")  # 2001:db8::2, the peer
B6 = bytes.fromhex("20010db8000000000000000000000001")  # 2001:db8::1, synack
R6 = bytes.fromhex("20010db80000000000000000000000fe")  # a router
ALL_NODES = bytes.fromhex("ff020000000000000000000000000001")
HBH, ROUTING, FRAGMENT, NONE, DEST = 0, 43, 44, 59, 60
TCP, UDP, ICMP6 = 6, 17, 58


def pseudo6(src, dst, proto, length):
    return src + dst + struct.pack(">I", length) + b"\0\0\0" + bytes([proto])


def with_sum(seg, at, pseudo, udp=False):
    seg = seg[:at] + b"\0\0" + seg[at + 2:]
    c = csum(pseudo + seg)
    if udp and c == 0:
        c = 0xffff
    return seg[:at] + struct.pack(">H", c) + seg[at + 2:]


def ipv6(nh, payload, src=A6, dst=B6):
    return struct.pack(">IHBB", 6 << 28, len(payload), nh, 64) + src + dst + payload


def ext(nxt, body=b""):
    # hop-by-hop, destination options, routing: padded with Pad1 (zero) bytes
    n = (2 + len(body) + 7) // 8 * 8
    return bytes([nxt, n // 8 - 1]) + body + b"\0" * (n - 2 - len(body))


def frag(nxt, offset, more, ident):
    return struct.pack(">BBHI", nxt, 0, offset | (1 if more else 0), ident)


def tcp_syn(src, dst, sport=40000, dport=80, seq=1):
    seg = struct.pack(">HHIIBBHHH", sport, dport, seq, 0, 0x60, 0x02, 65535, 0, 0)
    seg += struct.pack(">BBH", 2, 4, 1440)
    return with_sum(seg, 16, pseudo6(src, dst, TCP, len(seg)))


def udp6(src, dst, data, sport=5000, dport=53):
    seg = struct.pack(">HHHH", sport, dport, 8 + len(data), 0) + data
    return with_sum(seg, 6, pseudo6(src, dst, UDP, len(seg)), udp=True)


def icmp6(src, dst, typ, code, word, body):
    msg = struct.pack(">BBHI", typ, code, 0, word) + body
    return with_sum(msg, 2, pseudo6(src, dst, ICMP6, len(msg)))


def wire6_seeds():
    s = {}
    s["ip6-tcp-syn"] = ipv6(TCP, tcp_syn(A6, B6))
    s["ip6-udp"] = ipv6(UDP, udp6(A6, B6, b"twelve bytes"))
    udp4 = struct.pack(">HHHH", 5000, 53, 20, 0) + b"twelve bytes"
    udp4 = with_sum(udp4, 6, struct.pack(">IIBBH", 0xc6120002, 0xc6120001, 0, UDP, 20), udp=True)
    s["ip4-udp"] = ipv4(UDP, udp4)
    s["ip6-udp-zero-checksum"] = ipv6(UDP, struct.pack(">HHHH", 5000, 53, 12, 0) + b"zero")
    # every extension header the walk knows, then UDP
    chain = (ext(DEST, bytes([1, 1, 0, 5, 2, 0, 0])) + ext(ROUTING, bytes([1, 2, 0, 0])) +
             ext(FRAGMENT, bytes([0, 0, 0, 0, 0, 0])) + frag(UDP, 0, False, 7))
    s["ip6-ext-chain"] = ipv6(HBH, chain + udp6(A6, B6, b"behind the chain"))
    s["ip6-frag-first"] = ipv6(FRAGMENT, frag(UDP, 0, True, 0x1234) + udp6(A6, B6, b"x" * 24)[:16])
    s["ip6-frag-last"] = ipv6(HBH, ext(FRAGMENT) + frag(UDP, 1232, False, 0x1234) + b"y" * 20)
    s["ip6-routing-segments-left"] = ipv6(ROUTING, ext(UDP, bytes([0, 1]) + b"\0" * 20) +
                                          udp6(A6, B6, b"rh0"))
    s["ip6-option-10"] = ipv6(DEST, ext(TCP, bytes([0x80, 2, 0, 0])) + tcp_syn(A6, B6))
    s["ip6-option-11-multicast"] = ipv6(HBH, ext(UDP, bytes([0xc2, 4, 0, 0, 0, 0])) +
                                        udp6(A6, ALL_NODES, b"m"), dst=ALL_NODES)
    s["ip6-no-next-header"] = ipv6(DEST, ext(NONE) + b"ignored")
    s["ip6-hbh-not-first"] = ipv6(DEST, ext(HBH) + ext(UDP) + udp6(A6, B6, b"late"))
    s["ip6-sctp"] = ipv6(132, b"\0" * 16)
    echo = icmp6(A6, B6, 128, 0, 7 << 16 | 1, b"ping" * 14)
    s["icmp6-echo-request"] = ipv6(ICMP6, echo)
    invoking = ipv6(DEST, ext(TCP) + tcp_syn(B6, A6, 80, 40000, 1000), src=B6, dst=A6)
    s["icmp6-packet-too-big"] = ipv6(ICMP6, icmp6(R6, B6, 2, 0, 1280, invoking), src=R6)
    unreach = ipv6(UDP, udp6(B6, A6, b"query", 33000, 53), src=B6, dst=A6)
    s["icmp6-port-unreachable"] = ipv6(ICMP6, icmp6(A6, B6, 1, 4, 0, unreach))
    s["icmp6-parameter-problem"] = ipv6(ICMP6, icmp6(A6, B6, 4, 1, 40, invoking))
    later = ipv6(FRAGMENT, frag(UDP, 1448, False, 9) + b"z" * 16, src=B6, dst=A6)
    s["icmp6-time-exceeded-fragment"] = ipv6(ICMP6, icmp6(R6, B6, 3, 1, 0, later), src=R6)
    return s


# ---- scenario, http, netopt --------------------------------------------------------------

def scenario_seeds():
    s = {}
    # kind 0: flags, bytes(2), loss, delay, rate, queue, seed(4), [bufs], drops
    s["transfer-clean"] = bytes([0, 0x00]) + struct.pack(">HBBBBI", 8192, 0, 10, 100, 0, 1) + b"\0\0"
    s["transfer-lossy"] = bytes([0, 0x08]) + struct.pack(">HBBBBI", 20000, 40, 5, 10, 16, 7) + b"\x02\x03\x05\x01\x04"
    s["transfer-tiny-bufs"] = bytes([0, 0x80]) + struct.pack(">HBBBBI", 3000, 0, 1, 0, 0, 9) + struct.pack(">HH", 1, 3) + b"\0\0"
    s["transfer-simultaneous"] = bytes([0, 0x06]) + struct.pack(">HBBBBI", 500, 10, 20, 1, 4, 2) + b"\0\0"
    s["flood-cookies"] = bytes([1]) + struct.pack(">HBBBBBI", 5000, 50, 10, 0, 8, 5, 3)
    s["flood-never"] = bytes([1]) + struct.pack(">HBBBBBI", 5000, 50, 10, 2, 4, 5, 4)
    s["blind"] = bytes([2]) + struct.pack(">BHBHBBI", 2, 20000, 50, 4000, 1, 5, 5)
    return s


def http_seeds():
    s = {}

    def chunks(text, ctl_extra=0):
        out = b""
        for i in range(0, len(text), 64):
            part = text[i:i + 64]
            ctl = ((len(part) - 1 + 7) // 8) | ctl_extra
            out += bytes([ctl]) + part.ljust(((ctl & 0x3f) * 8 + 1), b" ")[:(ctl & 0x3f) * 8 + 1]
        return out

    s["get-index"] = chunks(b"GET / HTTP/1.1\r\nHost: x\r\n\r\n")
    s["pipelined"] = chunks(b"GET /index.html HTTP/1.1\r\nHost: x\r\n\r\nHEAD /sub/ HTTP/1.1\r\n"
                            b"Host: x\r\n\r\nGET /sub/a%20b%25.txt HTTP/1.1\r\nHost: x\r\n"
                            b"Connection: close\r\n\r\n")
    s["bad-requests"] = chunks(b"POST / HTTP/1.1\r\nContent-Length: 5\r\n\r\nhelloGET /../etc "
                               b"HTTP/1.1\r\n\r\nBREW / HTTP/2.0\r\n\r\n")
    s["slow-and-fin"] = chunks(b"GET / HTTP/1.1\r\n", 0x40) + bytes([0xc0]) + b"\r"
    s["absolute-form"] = chunks(b"GET http://x/index.html?q=1 HTTP/1.0\r\n\r\n")
    return s


def netopt_seeds():
    args = [["--addr", "198.18.0.1/24", "--link", "tun:synack%d"],
            ["--link", "udp:127.0.0.1:7000,127.0.0.1:7001", "--addr", "198.18.1.1/30",
             "--loss", "5%", "--delay", "20", "--rate", "10", "--seed", "3"],
            ["--tun-host-addr", "198.18.0.2/24", "--mtu", "1280", "--mss", "536",
             "--rcvbuf", "1M", "--sndbuf", "64K", "-v", "--pcap", "x.pcap"],
            ["--addr", "255.255.255.255/33", "--reorder", "2%", "--dup", "1", "--corrupt", "0.5"],
            ["--syncookies", "always", "--addr", "198.18.0.1", "--syncookies", "nevermore"]]
    return {"args%d" % i: b"\0".join(a.encode() for a in arg) for i, arg in enumerate(args)}


# ---- frag records -------------------------------------------------------------------------

FR_V6, FR_TCP, FR_MORE, FR_OTHER, FR_RAW, FR_LONG = 0x01, 0x08, 0x10, 0x20, 0x40, 0x80
FR_NEXT_DEADLINE, FR_NO_EXPIRE, FR_PLAN = 4, 8, 0xf0


def frag_rec(off, length, more=False, ctl=0, ident=1, step=0, src=0):
    """One fragment record of fuzz/fuzz_frag.c: `off` in bytes (a multiple of 8)."""
    c = ctl | (FR_MORE if more else 0) | (src << 1)
    return struct.pack(">BBHHB", c, ident, off // 8 if not ctl & FR_RAW else off, length, step)


def cut(total, size):
    return [(o, min(size, total - o), o + size < total) for o in range(0, total, size)]


def frag_seeds():
    s = {}
    scene = bytes([255, 63, 0])  # 256 KiB, 64 datagrams, default timeouts
    s["in-order-v4"] = scene + b"".join(frag_rec(o, n, m) for o, n, m in cut(4000, 1480))
    s["reversed-v6"] = scene + b"".join(frag_rec(o, n, m, FR_V6, 2)
                                        for o, n, m in reversed(cut(5000, 1232)))
    order = [3, 0, 5, 1, 4, 2]
    pieces = cut(3000, 504)
    s["shuffled-both"] = scene + b"".join(frag_rec(*pieces[i], ctl=c, ident=3)
                                          for c in (0, FR_V6) for i in order)
    s["duplicates"] = scene + b"".join([frag_rec(0, 1000, True), frag_rec(0, 1000, True),
                                        frag_rec(2000, 500), frag_rec(2000, 500),
                                        frag_rec(1000, 1000, True)])
    s["overlap-then-rest"] = scene + b"".join([
        frag_rec(1000, 1000, True), frag_rec(2000, 1000, True), frag_rec(1496, 1000, True, FR_OTHER),
        frag_rec(0, 1000, True), frag_rec(3000, 500), frag_rec(0, 2000, True, step=FR_NEXT_DEADLINE),
        frag_rec(2000, 1500)])
    s["same-place-other-bytes"] = scene + b"".join([
        frag_rec(0, 800, True, FR_V6), frag_rec(0, 800, True, FR_V6 | FR_OTHER), frag_rec(800, 8, False, FR_V6)])
    s["interleaved-keys"] = scene + b"".join(
        frag_rec(o, n, m, ctl, ident, src=src)
        for o, n, m in cut(2400, 800)
        for ctl, ident, src in ((0, 1, 0), (0, 2, 0), (FR_TCP, 1, 0), (0, 1, 1), (FR_V6, 1, 0)))
    s["timeout-with-first"] = scene + b"".join([
        frag_rec(0, 800, True), frag_rec(1600, 100), frag_rec(0, 800, True, FR_V6),
        frag_rec(8, 8, True, step=FR_NEXT_DEADLINE), frag_rec(8, 8, True, FR_V6, step=FR_NEXT_DEADLINE)])
    s["short-timeouts"] = bytes([15, 7, 1]) + b"".join(
        [frag_rec(0, 8, True, ident=i, step=2) for i in range(6)] + [frag_rec(8, 8, ident=5)])
    s["flood-small-cap"] = bytes([3, 15, 0]) + b"".join(
        frag_rec(0, 1000, True, ctl=FR_V6 if i % 3 == 0 else 0, ident=i) for i in range(40))
    s["bigger-than-cap"] = bytes([7, 3, 0]) + b"".join(
        [frag_rec(0, 96, True, ident=9)] + [frag_rec(o, 2000, True, ident=8) for o in range(0, 12000, 2000)]
        + [frag_rec(96, 8, ident=9)])
    s["malformed"] = scene + b"".join([
        frag_rec(0, 1001, True), frag_rec(0, 1001, True, FR_V6), frag_rec(65512, 8), frag_rec(65480, 8, ctl=FR_LONG),
        frag_rec(65528, 8, ctl=FR_V6), frag_rec(65520, 8, ctl=FR_V6 | FR_LONG), frag_rec(4, 8, True, FR_RAW),
        frag_rec(8, 0, True), frag_rec(1000, 1000), frag_rec(2000, 8, True), frag_rec(992, 8),
        frag_rec(1000, 1008)])
    s["atomic"] = scene + b"".join([frag_rec(1000, 1000, ctl=FR_V6), frag_rec(0, 700, ctl=FR_V6),
                                    frag_rec(0, 1000, True, FR_V6)])
    s["plans"] = bytes(3) + b"".join(
        frag_rec(mtu, total, ctl=ctl, ident=hdr, step=FR_PLAN)
        for ctl, mtu, total, hdr in ((0, 1500, 4000, 0), (0, 68, 100, 10), (FR_V6, 1280, 3000, 0),
                                     (FR_V6, 1280, 65511, 3), (0, 1500, 65515, 0),
                                     (FR_V6, 1279, 3000, 0)))
    return s


# ---- trace: capture files of every format and link type `synack trace` reads -------------

def pcap_file(linktype, records, nano=True, snaplen=65535):
    """A pcap file: records are (ns, caplen-cut bytes, wire length)."""
    out = struct.pack("<IHHiIII", 0xa1b23c4d if nano else 0xa1b2c3d4, 2, 4, 0, 0, snaplen,
                      linktype)
    for t, data, wirelen in records:
        frac = t % 1000000000 if nano else (t % 1000000000) // 1000
        out += struct.pack("<IIII", t // 1000000000, frac, len(data), wirelen) + data
    return out


def pcapng_file(linktype, records):
    """A pcapng file: section header, one interface (nanosecond timestamps), packets."""
    def block(kind, body):
        body += b"\0" * (-len(body) % 4)
        return struct.pack("<II", kind, len(body) + 12) + body + struct.pack("<I", len(body) + 12)
    tsres = struct.pack("<HH", 9, 1) + b"\x09" + b"\0" * 3 + struct.pack("<HH", 0, 0)
    out = block(0x0a0d0d0a, struct.pack("<IHHq", 0x1a2b3c4d, 1, 0, -1))
    out += block(1, struct.pack("<HHI", linktype, 0, 65535) + tsres)
    for t, data, wirelen in records:
        out += block(6, struct.pack("<IIIII", 0, t >> 32, t & 0xffffffff, len(data), wirelen) + data)
    return out


def demo_records(build, args):
    synack = os.path.join(build, "synack")
    with tempfile.TemporaryDirectory() as tmp:
        pcap = os.path.join(tmp, "d.pcap")
        subprocess.run([synack, "demo", "--quiet", "--pcap", pcap] + args, check=False,
                       stdout=subprocess.DEVNULL)
        with open(pcap, "rb") as f:
            data = f.read()
    recs, off = [], 24
    while off + 16 <= len(data):
        sec, ns, incl, orig = struct.unpack("<IIII", data[off:off + 16])
        recs.append((sec * 1000000000 + ns, data[off + 16:off + 16 + incl], orig))
        off += 16 + incl
    return recs


def trace_seeds(build):
    v4 = demo_records(build, ["--bytes", "2K"])
    v6 = demo_records(build, ["--bytes", "1K", "--ipv6"])
    lossy = demo_records(build, ["--bytes", "3K", "--loss", "20%", "--seed", "4",
                                 "--no-timestamps"])
    eth = lambda ip: b"\x02" * 6 + b"\x04" * 6 + (b"\x08\x00" if ip[0] >> 4 == 4 else b"\x86\xdd") + ip
    vlan = lambda ip: b"\x02" * 6 + b"\x04" * 6 + b"\x81\x00\x00\x07" + eth(ip)[12:]
    proto = lambda ip: b"\x08\x00" if ip[0] >> 4 == 4 else b"\x86\xdd"
    sll = lambda ip: struct.pack(">HHH", 4, 1, 6) + b"\x02" * 6 + b"\0\0" + proto(ip) + ip
    sll2 = lambda ip: proto(ip) + b"\0\0" + struct.pack(">IHBB", 1, 1, 4, 6) + b"\x02" * 6 + b"\0\0" + ip
    null = lambda ip: struct.pack("<I", 2 if ip[0] >> 4 == 4 else 10) + ip
    wrap = lambda recs, f: [(t, f(d), len(f(d))) for t, d, _ in recs]
    badsum = [(t, d[:36] + bytes([d[36] ^ 0x5a]) + d[37:] if i % 2 == 0 else d, n)
              for i, (t, d, n) in enumerate(v4)]
    raw = pcap_file(101, v4)
    return {
        "raw-v4": raw,
        "raw-v6": pcap_file(101, v6),
        "raw-lossy": pcap_file(101, lossy),
        "eth-vlan-usec": pcap_file(1, wrap(v4, vlan), nano=False),
        "eth-v6": pcap_file(1, wrap(v6, eth)),
        "sll": pcap_file(113, wrap(v4, sll)),
        "sll2-v6": pcap_file(276, wrap(v6, sll2)),
        "null": pcap_file(0, wrap(v4, null)),
        "ipv4-linktype": pcap_file(228, v4),
        "pcapng": pcapng_file(101, v4),
        "snaplen-60": pcap_file(101, [(t, d[:60], n) for t, d, n in v4], snaplen=60),
        "snaplen-30": pcap_file(101, [(t, d[:30], n) for t, d, n in v4], snaplen=30),
        "badsum": pcap_file(101, badsum),
        "mid-connection": pcap_file(101, v4[3:]),
        "clock-back": pcap_file(101, lossy[:-1] + [(lossy[0][0],) + lossy[-1][1:]]),
        "one-ip-packet": v4[0][1],
        "cut-short": raw[:len(raw) - 100],
        "header-only": raw[:24],
        "not-pcap": b"GET / HTTP/1.1\r\n\r\n",
    }


# ---- vnet: the virtio-net header (virtio 1.1 §5.1.6) before an IPv4 or IPv6 TCP segment ------


def vnet_hdr(flags=0, gso=0, hdr_len=0, gso_size=0, start=0, offset=0):
    return struct.pack("<BBHHHH", flags, gso, hdr_len, gso_size, start, offset)


def tcp4_partial(payload, flags=0x10, dport=80):
    """An IPv4 TCP segment from the peer to synack whose checksum field holds the
    pseudo-header's sum only, as the kernel leaves it (NEEDS_CSUM)."""
    seg = struct.pack(">HHIIBBHHH", 40000, dport, 1, 0, 0x50, flags, 65535, 0, 0) + payload
    pseudo = struct.pack(">IIBBH", 0xc6120002, 0xc6120001, 0, TCP, len(seg))
    partial = (~csum(pseudo)) & 0xffff
    seg = seg[:16] + struct.pack(">H", partial) + seg[18:]
    return ipv4(TCP, seg)


def udp4_partial(payload, dport=80, partial=True):
    """An IPv4 UDP datagram from the peer to synack whose checksum field holds the
    pseudo-header's sum only, as the kernel leaves it (NEEDS_CSUM); with partial False the
    same field, which a DATA_VALID header vouches for without it being the sum."""
    seg = struct.pack(">HHHH", 40000, dport, 8 + len(payload), 0) + payload
    pseudo = struct.pack(">IIBBH", 0xc6120002, 0xc6120001, 0, UDP, len(seg))
    field = (~csum(pseudo)) & 0xffff
    if not partial:
        field ^= 0x5a5a
    return ipv4(UDP, seg[:6] + struct.pack(">H", field) + seg[8:])


def vnet_seeds():
    big = tcp4_partial(bytes(range(256)) * 11)  # 2,816 bytes: more than one MTU
    syn = tcp4_partial(b"", flags=0x02)
    syn6 = ipv6(TCP, tcp_syn(A6, B6))
    csum4 = dict(flags=1, start=20, offset=16)
    udp4 = udp4_partial(b"a question")
    udp4_bad = udp4_partial(b"a question", partial=False)
    udp6_whole = ipv6(UDP, udp6(A6, B6, b"a question", dport=80))
    # The pseudo-header's sum alone, folded and not complemented (virtio 1.1 §5.1.6.2).
    seg6 = udp6_whole[40:46] + struct.pack(">H", (~csum(pseudo6(A6, B6, UDP, len(udp6_whole) - 40))) & 0xffff) + udp6_whole[48:]
    udp6p = udp6_whole[:40] + seg6
    return {
        # ctl 0: as it comes; the kernel's own headers, then headers that lie.
        "gso-tcpv4": b"\0" + vnet_hdr(gso=1, hdr_len=40, gso_size=1448, **csum4) + big,
        "gso-tcpv4-ecn": b"\0" + vnet_hdr(gso=0x81, hdr_len=40, gso_size=1448, **csum4) + big,
        "partial-syn": b"\0" + vnet_hdr(**csum4) + syn,
        "data-valid": b"\0" + vnet_hdr(flags=2) + syn,
        "plain": b"\0" + vnet_hdr() + syn,
        "gso-tcpv6": b"\0" + vnet_hdr(1, 4, 60, 1428, 40, 16) + syn6,
        "lie-csum-range": b"\0" + vnet_hdr(flags=1, start=20, offset=len(syn)) + syn,
        "lie-gso-size": b"\0" + vnet_hdr(gso=1, **csum4) + big,
        "lie-gso-udp": b"\0" + vnet_hdr(gso=3, gso_size=1400, **csum4) + big,
        "lie-gso-family": b"\0" + vnet_hdr(1, 4, 40, 1448, 20, 16) + big,
        "lie-gso-nocsum": b"\0" + vnet_hdr(gso=1, gso_size=1448) + big,
        "lie-hdr-len": b"\0" + vnet_hdr(hdr_len=len(syn) + 1) + syn,
        "header-only": b"\0" + vnet_hdr(),
        # ctl 3: repairs on, so mutated packets still reach TCP.
        "repair-big": b"\3" + vnet_hdr(gso=1, hdr_len=40, gso_size=1448, **csum4) + big,
        # UDP: the kernel's partial sums and verified datagrams; places that lie.
        "partial-udp4": b"\0" + vnet_hdr(flags=1, start=20, offset=6) + udp4,
        "partial-udp6": b"\0" + vnet_hdr(flags=1, start=40, offset=6) + udp6p,
        "data-valid-udp4": b"\0" + vnet_hdr(flags=2) + udp4_bad,
        "data-valid-udp6": b"\0" + vnet_hdr(flags=2) + udp6_whole,
        "lie-csum-place-udp": b"\0" + vnet_hdr(flags=1, start=20, offset=16) + udp4,
        "lie-csum-place-ip": b"\0" + vnet_hdr(flags=1, start=0, offset=10) + udp4,
        "lie-csum-place-gso": b"\0" + vnet_hdr(gso=1, hdr_len=40, gso_size=1448, flags=1,
                                               start=20, offset=18) + big,
        "repair-udp4": b"\3" + vnet_hdr(flags=1) + udp4,
        # UDP segmentation offload (GSO UDP_L4): 2,000 bytes to cut into datagrams of 600.
        "uso-udp4": b"\0" + vnet_hdr(flags=1, gso=5, hdr_len=28, gso_size=600, start=20, offset=6)
        + udp4_partial(bytes(range(200)) * 10),
        "uso-udp6": b"\0" + vnet_hdr(flags=1, gso=5, hdr_len=48, gso_size=3, start=40, offset=6)
        + udp6p,
        "repair-uso-udp4": b"\3" + vnet_hdr(flags=1, gso=5, gso_size=7) + udp4,
        "lie-uso-tcp-place": b"\0" + vnet_hdr(gso=5, gso_size=1448, **csum4) + big,
    }


# ---- steer: [ctl] [queues - 1] then an IP packet (fuzz/fuzz_steer.c) --------------------------


def steer_seeds():
    syn4 = ipv4(TCP, struct.pack(">HHIIBBHHH", 40000, 80, 1, 0, 0x50, 0x02, 65535, 0, 0))
    syn6 = ipv6(TCP, tcp_syn(A6, B6))
    udp = ipv6(17, udp6(A6, B6, b"question"))
    quoted = syn4[:28]
    unreach = ipv4(1, struct.pack(">BBHI", 3, 3, 0, 0) + quoted)
    too_big6 = ipv6(58, icmp6(B6, A6, 2, 0, 1280, syn6[:48]), src=B6, dst=A6)
    frag6 = ipv6(44, frag(TCP, 0, True, 9) + syn6[40:])
    return {
        "syn4-q4": b"\0\3" + syn4,
        "syn4-q16-repair": b"\1\17" + syn4,
        "syn6-q8": b"\0\7" + syn6,
        "udp6-q3": b"\x20\2" + udp,
        "icmp4-unreach-q8": b"\1\7" + unreach,
        "icmp6-too-big-q8": b"\0\7" + too_big6,
        "frag6-q4": b"\0\3" + frag6,
        "runt": b"\0\3\x45",
        "not-ip": b"\0\3" + b"\x00" * 40,
    }


# ---- batch: the same packets one call each and in batches ---------------------------------


def batch_seg(peer, flags, seq_off=0, ack_off=0, payload=b"", more=True, clock=1, vouched=False):
    body = struct.pack(">BBhh", peer, flags, seq_off, ack_off) + payload
    ctl = 0x80 | (0x20 if vouched else 0) | (1 if more else clock << 3)
    return bytes([ctl, len(body)]) + body


def batch_raw(pkt, more=True, repair=False, vouched=False, clock=1):
    ctl = (0x40 if repair else 0) | (0x20 if vouched else 0) | (1 if more else clock << 3)
    return bytes([ctl, len(pkt)]) + pkt


def batch_seeds():
    def conversation(v6):
        out = bytes([1 if v6 else 0])
        out += b"".join(batch_seg(i, SYN, more=i < 3) for i in range(4))
        out += b"".join(batch_seg(i, PSH | ACK, payload=b"hello %d" % i, more=i < 3)
                        for i in range(4))
        # A FIN, an old duplicate, a reset and a new SYN on the reset's tuple, together.
        out += batch_seg(0, FIN | ACK) + batch_seg(1, ACK, seq_off=-3000)
        out += batch_seg(2, RST) + batch_seg(2, SYN, seq_off=7, more=False, clock=2)
        out += batch_seg(3, FIN | ACK, more=False, clock=3)
        return out

    tcp = struct.pack(">HHIIBBHHH", 40000, 80, 1, 0, 5 << 4, SYN, 65535, 0, 0)
    pseudo = struct.pack(">IIBBH", 0xc6120002, 0xc6120001, 0, 6, len(tcp))
    tcp = tcp[:16] + struct.pack(">H", csum(pseudo + tcp)) + tcp[18:]
    syn = ipv4(6, tcp)
    bad_sum = syn[:36] + bytes([syn[36] ^ 0xff]) + syn[37:]
    return {
        "conversation-v4": conversation(False),
        "conversation-v6": conversation(True),
        "raw": b"\0" + batch_raw(syn) + batch_raw(syn[:30]) + batch_raw(b"\x45" + syn[1:], repair=True)
        + batch_raw(b"\x60" + syn[1:]) + batch_raw(syn, more=False),
        "vouched-partial-sum": b"\0" + batch_raw(bad_sum, vouched=True) + batch_raw(bad_sum)
        + batch_raw(syn, more=False, clock=2),
        "long-batch": b"\0" + b"".join(batch_seg(i % 4, SYN if i < 4 else ACK, more=i < 79)
                                      for i in range(80)),
    }


def udplink_seeds():
    def r(kind, a, b, data=b""):
        return bytes([kind, a, b, len(data) >> 8, len(data) & 0xff]) + data

    ip = b"\x45" + bytes(range(1, 60))
    v6 = b"\x60" + bytes(range(1, 80))
    big = bytes(i % 251 for i in range(2000))
    return {
        "single-datagrams": r(0, 0, 0, ip) + r(4, 0, 0, v6) + r(4, 0, 0, b"\x55" * 30) + r(0, 0, 0)
        + r(2, 7, 255),
        "trains": r(1, 0, 99, big) + r(1, 0, 39, big[:410]) + r(2, 7, 255) + r(1, 5, 191, big)
        + r(2, 0, 63),
        "too-large-and-small-buffers": r(0, 0, 0, big) + r(1, 0, 199, big) + r(2, 0, 99)
        + r(1, 1, 0, big[:1500]) + r(2, 7, 255),
    }


def write(target, seeds):
    d = os.path.join(HERE, "corpus", target)
    os.makedirs(d, exist_ok=True)
    for name, data in seeds.items():
        with open(os.path.join(d, name), "wb") as f:
            f.write(data)


def main():
    build = sys.argv[1] if len(sys.argv) > 1 else "build"
    makers = {"stack": stack_seeds, "wire": lambda: wire_seeds(build),
              "scenario": scenario_seeds, "http": http_seeds, "netopt": netopt_seeds,
              "frag": frag_seeds, "trace": lambda: trace_seeds(build), "vnet": vnet_seeds,
              "steer": steer_seeds, "batch": batch_seeds, "udplink": udplink_seeds}
    for target in sys.argv[2:] or makers:
        write(target, makers[target]())


if __name__ == "__main__":
    main()
