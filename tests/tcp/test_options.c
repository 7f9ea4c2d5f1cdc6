/* TCP options at segment level: window scale (RFC 7323 §2), timestamps, TS.Recent, PAWS
 * and RTTM (RFC 7323 §3-§5), SACK-permitted (RFC 2018 §2), and the effective MSS (RFC 9293
 * §3.7.1, RFC 6691). The scripted peer offers options through f.peer_wscale, f.peer_sack
 * and f.peer_ts; each test reads them back off the segments the stack emits. */
#include "tcpfix.h"

#define DATA_MAX 9000

/* The byte at offset `i` of every stream in these tests. */
static void fill(uint8_t *buf, size_t len)
{
    for (size_t i = 0; i < len; i++)
        buf[i] = (uint8_t)(i * 31 + (i >> 8));
}

/* ---- configurations ------------------------------------------------------------------- */

static void rcvbuf_65535(struct synack_config *cfg)
{
    cfg->rcvbuf = 65535;
    cfg->rcvbuf_max = 0; /* fixed: the shift offered covers this buffer */
}

static void rcvbuf_65536(struct synack_config *cfg)
{
    cfg->rcvbuf = 65536;
    cfg->rcvbuf_max = 0; /* fixed: the shift offered covers this buffer */
}

static void rcvbuf_131070(struct synack_config *cfg)
{
    cfg->rcvbuf = 131070;
    cfg->rcvbuf_max = 0; /* fixed: the shift offered covers this buffer */
}

static void rcvbuf_131072(struct synack_config *cfg)
{
    cfg->rcvbuf = 131072;
    cfg->rcvbuf_max = 0; /* fixed: the shift offered covers this buffer */
}

static void rcvbuf_1m(struct synack_config *cfg)
{
    cfg->rcvbuf = 1u << 20;
    cfg->rcvbuf_max = 0; /* fixed: the shift offered covers this buffer */
}

/* Autotuning: buffers that start small and may grow to 1 MiB or 16 MiB. */
static void rcvbuf_64k_to_1m(struct synack_config *cfg)
{
    cfg->rcvbuf = 65536;
    cfg->rcvbuf_max = 1u << 20;
}

static void rcvbuf_64k_to_16m(struct synack_config *cfg)
{
    cfg->rcvbuf = 65536;
    cfg->rcvbuf_max = 16u << 20;
}

static void rcvbuf_300_to_1m(struct synack_config *cfg)
{
    cfg->rcvbuf = 300;
    cfg->rcvbuf_max = 1u << 20;
}

static void rcvbuf_30_to_1m(struct synack_config *cfg)
{
    cfg->rcvbuf = 30;
    cfg->rcvbuf_max = 1u << 20;
}

static void no_window_scale(struct synack_config *cfg)
{
    cfg->window_scale = false;
    cfg->rcvbuf = 65535;
    cfg->rcvbuf_max = 0;
    /* fixed: the shift offered covers this buffer */ /* what the unscaled field can offer */
}

static void no_timestamps(struct synack_config *cfg)
{
    cfg->timestamps = false;
}

static void no_options(struct synack_config *cfg)
{
    cfg->window_scale = false;
    cfg->timestamps = false;
    cfg->sack = false;
    cfg->rcvbuf = 65535;
    cfg->rcvbuf_max = 0; /* fixed: the shift offered covers this buffer */
}

static void delack_40ms(struct synack_config *cfg)
{
    cfg->delack_timeout = SYNACK_MS(40);
}

/* ---- helpers -------------------------------------------------------------------------- */

/* connect(): returns our SYN in *syn and learns the ISS. */
static void active_syn(struct fix *f, struct wire_tcp_repr *syn)
{
    assert_int_equal(synack_tcp_connect(f->s, &SYNACK_TEST_EP(FIX_REMOTE, f->rport),
                                        &SYNACK_TEST_EP(0, f->lport), NULL, &f->c, f->now),
                     0);
    assert_true(fix_recv(f, syn));
    assert_int_equal(syn->flags, WIRE_TCP_SYN);
    f->iss = syn->seq;
    f->peer_ack = f->iss + 1;
}

/* The peer's SYN-ACK (options from f->peer_*); returns our ACK of it in *ack. */
static void active_complete(struct fix *f, struct wire_tcp_repr *ack)
{
    fix_peer_syn(f, true);
    assert_true(fix_recv(f, ack));
    assert_int_equal(ack->flags, WIRE_TCP_ACK);
    assert_int_equal(ack->seq, f->iss + 1);
    assert_int_equal(ack->ack, f->peer_nxt);
    assert_int_equal(synack_tcp_state(f->c), SYNACK_ESTABLISHED);
    fix_expect_none(f);
}

/* listen() and the peer's SYN (options from f->peer_*): returns our SYN-ACK. */
static void passive_syn_ack(struct fix *f, struct wire_tcp_repr *syn_ack)
{
    assert_int_equal(synack_tcp_listen(f->s, &SYNACK_TEST_EP(0, f->lport), 8, NULL, &f->l), 0);
    fix_peer_syn(f, false);
    assert_true(fix_recv(f, syn_ack));
    assert_int_equal(syn_ack->flags, WIRE_TCP_SYN | WIRE_TCP_ACK);
    assert_int_equal(syn_ack->ack, f->peer_nxt);
    f->iss = syn_ack->seq;
    f->peer_ack = f->iss + 1;
    fix_expect_none(f);
}

/* The peer's ACK of our SYN-ACK; the connection is accepted into f->c. */
static void passive_complete(struct fix *f)
{
    fix_send(f, WIRE_TCP_ACK, f->peer_nxt, f->peer_ack, NULL, 0);
    assert_int_equal(synack_tcp_accept(f->l, &f->c), 0);
    assert_int_equal(synack_tcp_state(f->c), SYNACK_ESTABLISHED);
    fix_expect_none(f);
}

/* The peer sends `len` bytes at `off` past its current next sequence number (not moving
 * it) with its current options. */
static void peer_data_at(struct fix *f, uint32_t off, uint32_t len)
{
    uint8_t buf[DATA_MAX];
    assert_true(len <= sizeof buf);
    fill(buf, len);
    fix_send(f, WIRE_TCP_ACK, f->peer_nxt + off, f->peer_ack, buf, len);
}

/* The application sends the first `len` bytes of the stream; returns what send() took. */
static synack_ssize app_send(struct fix *f, size_t len)
{
    uint8_t buf[DATA_MAX];
    assert_true(len <= sizeof buf);
    fill(buf, len);
    return synack_tcp_send(f->c, buf, len, f->now);
}

/* The next segment must be a bare ACK of `ack`; returned in *seg for option checks. */
static void expect_ack(struct fix *f, uint32_t ack, struct wire_tcp_repr *seg)
{
    if (!fix_recv(f, seg)) fail_msg("expected an ACK of %u, got nothing", ack);
    assert_int_equal(seg->flags, WIRE_TCP_ACK);
    assert_int_equal(seg->seq, f->peer_ack);
    assert_int_equal(seg->ack, ack);
    assert_int_equal(seg->payload_len, 0);
}

/* The next segment must carry `len` bytes of our data at `seq`. */
static void expect_data(struct fix *f, uint32_t seq, size_t len, struct wire_tcp_repr *seg)
{
    if (!fix_recv(f, seg)) fail_msg("expected %zu bytes at %u, got nothing", len, seq);
    assert_true(seg->flags & WIRE_TCP_ACK);
    assert_int_equal(seg->seq, seq);
    assert_int_equal(seg->payload_len, len);
}

/* RFC 7323 §2.2: "The window field in a segment where the SYN bit is set ... MUST NOT be
 * scaled": a SYN offers the buffer in bytes, up to 65535 (give or take the rounding to
 * the scale unit the later windows use), not the buffer >> shift. */
static void expect_unscaled_syn_window(const struct wire_tcp_repr *syn, size_t rcvbuf,
                                       unsigned shift)
{
    uint32_t full = rcvbuf < 65535 ? (uint32_t)rcvbuf : 65535u;
    uint32_t slack = (1u << shift) - 1;
    if (syn->window > full || syn->window + slack < full)
        fail_msg("SYN window %u for rcvbuf %zu (shift %u), expected %u (unscaled)", syn->window,
                 rcvbuf, shift, full);
}

/* ---- window scale (RFC 7323 §2) --------------------------------------------------------- */

/* RFC 7323 §2.2: our SYN offers window scale, the peer's SYN-ACK does not: scaling is off
 * in both directions, our window fields are unscaled (at most 65535) and so are the
 * peer's. */
static void wscale_off_when_peer_syn_ack_lacks_it_rfc7323_2_2(void **state)
{
    (void)state;
    struct fix f;
    fix_init(&f, NULL); /* rcvbuf 64 KiB growing to 16 MiB: shift 9 offered */
    struct wire_tcp_repr syn, ack;
    active_syn(&f, &syn);
    assert_true(syn.has_wscale);
    assert_int_equal(syn.wscale, 9);
    active_complete(&f, &ack);
    struct synack_tcp_info info = fix_info(&f);
    assert_false(info.window_scale);
    assert_int_equal(info.snd_wscale, 0);
    assert_int_equal(info.rcv_wscale, 0);
    /* Unscaled: 65535 means 65535 bytes, not 65535 << 1. */
    assert_int_equal(ack.window, 65535);
    assert_true(info.rcv_wnd <= 65535);
    /* The peer's window field is taken as bytes. */
    f.peer_wnd = 1000;
    fix_send(&f, WIRE_TCP_ACK, f.peer_nxt, f.peer_ack, NULL, 0);
    assert_int_equal(fix_info(&f).snd_wnd, 1000);
    fix_free(&f);
}

/* RFC 7323 §2.2: the peer's SYN-ACK carries window scale but our SYN did not (turned off
 * in the configuration): scaling is not in use, the peer's shift is ignored. */
static void wscale_off_when_our_syn_lacks_it_rfc7323_2_2(void **state)
{
    (void)state;
    struct fix f;
    fix_init(&f, no_window_scale);
    f.peer_wscale = 3;
    struct wire_tcp_repr syn, ack;
    active_syn(&f, &syn);
    assert_false(syn.has_wscale);
    active_complete(&f, &ack);
    struct synack_tcp_info info = fix_info(&f);
    assert_false(info.window_scale);
    assert_int_equal(info.snd_wscale, 0);
    f.peer_wnd = 1000;
    fix_send(&f, WIRE_TCP_ACK, f.peer_nxt, f.peer_ack, NULL, 0);
    assert_int_equal(fix_info(&f).snd_wnd, 1000); /* not 8000 */
    fix_free(&f);
}

/* RFC 7323 §2.2: "a TCP MAY send the WS option in its <SYN,ACK> only if it received a WS
 * option in the initial <SYN>". With it, both shifts are in use. */
static void wscale_in_syn_ack_only_if_peer_offered_rfc7323_2_2(void **state)
{
    (void)state;
    struct fix f;
    struct wire_tcp_repr syn_ack;

    fix_init(&f, NULL);
    passive_syn_ack(&f, &syn_ack);
    assert_false(syn_ack.has_wscale);
    passive_complete(&f);
    assert_false(fix_info(&f).window_scale);
    assert_int_equal(fix_info(&f).rcv_wscale, 0);
    fix_free(&f);

    fix_init(&f, NULL);
    f.peer_wscale = 2;
    passive_syn_ack(&f, &syn_ack);
    assert_true(syn_ack.has_wscale);
    /* The shift covers what autotuning may grow the buffer to, 16 MiB, not the 64 KiB it
     * starts with (RFC 7323 §2.3: the shift is fixed in the SYN). */
    assert_int_equal(syn_ack.wscale, 9);
    expect_unscaled_syn_window(&syn_ack, f.cfg.rcvbuf, 9);
    passive_complete(&f);
    struct synack_tcp_info info = fix_info(&f);
    assert_true(info.window_scale);
    assert_int_equal(info.snd_wscale, 2);
    assert_int_equal(info.rcv_wscale, 9);
    fix_free(&f);
}

/* RFC 7323 §2.3: the shift we offer is the smallest that lets 65535 << shift cover the
 * receive buffer; the SYN's own window field is unscaled, at most 65535. */
static void wscale_offered_is_smallest_covering_rcvbuf_rfc7323_2_3(void **state)
{
    (void)state;
    static const struct {
        void (*tweak)(struct synack_config *);
        uint8_t shift;
    } cases[] = {
        {rcvbuf_65535, 0},  {rcvbuf_65536, 1}, {rcvbuf_131070, 1},
        {rcvbuf_131072, 2}, {rcvbuf_1m, 5},
    };
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        struct fix f;
        struct wire_tcp_repr syn;
        fix_init(&f, cases[i].tweak);
        active_syn(&f, &syn);
        if (!syn.has_wscale) fail_msg("rcvbuf %zu: no window scale option", f.cfg.rcvbuf);
        if (syn.wscale != cases[i].shift)
            fail_msg("rcvbuf %zu: shift %u offered, expected %u", f.cfg.rcvbuf, syn.wscale,
                     cases[i].shift);
        expect_unscaled_syn_window(&syn, f.cfg.rcvbuf, cases[i].shift);
        fix_free(&f);
    }
}

/* synack_tcp_set_bufsize: sizes above 1 GiB (SYNACK_BUFSIZE_MAX) and NULL are INVAL and
 * change nothing; 0 leaves a buffer alone; a send size below the storage is the size
 * reported and keeps the bytes queued (send() takes no more); a receive size is clamped to
 * what the window field can offer: 65535 when the peer did not scale (RFC 7323 §2.2), and
 * 65535 << 9 when it did (the shift covers the 16 MiB rcvbuf_max: RFC 7323 §2.3). */
static void set_bufsize_checks_range_and_clamps_to_the_window_field(void **state)
{
    (void)state;
    struct fix f;
    fix_init(&f, NULL);
    fix_established_active(&f);
    assert_int_equal(synack_tcp_set_bufsize(NULL, 1, 1), SYNACK_ERR_INVAL);
    assert_int_equal(synack_tcp_set_bufsize(f.c, SYNACK_BUFSIZE_MAX + 1, 0), SYNACK_ERR_INVAL);
    assert_int_equal(synack_tcp_set_bufsize(f.c, 0, SYNACK_BUFSIZE_MAX + 1), SYNACK_ERR_INVAL);
    assert_int_equal(synack_tcp_set_bufsize(f.c, SIZE_MAX, 4096), SYNACK_ERR_INVAL);
    struct synack_tcp_info info = fix_info(&f);
    assert_int_equal(info.sndbuf, 64 * 1024);
    assert_int_equal(info.rcvbuf, 64 * 1024);
    fix_queue(&f, 40000);
    assert_int_equal(synack_tcp_set_bufsize(f.c, 10000, 0), 0);
    info = fix_info(&f);
    assert_int_equal(info.sndbuf, 10000);
    assert_int_equal(info.send_queued, 40000);
    assert_int_equal(info.rcvbuf, 64 * 1024);
    uint8_t one = 1;
    assert_int_equal(synack_tcp_send(f.c, &one, 1, f.now), SYNACK_ERR_AGAIN);
    assert_int_equal(synack_tcp_set_bufsize(f.c, 0, SYNACK_BUFSIZE_MAX), 0);
    assert_int_equal(fix_info(&f).rcvbuf, 65535); /* the peer offered no window scale */
    fix_free(&f);

    fix_init(&f, NULL);
    f.peer_wscale = 2;
    fix_established_active(&f);
    assert_int_equal(synack_tcp_set_bufsize(f.c, 1, SYNACK_BUFSIZE_MAX), 0);
    info = fix_info(&f);
    assert_int_equal(info.rcv_wscale, 9);
    assert_int_equal(info.rcvbuf, (size_t)65535 << 9);
    assert_int_equal(info.sndbuf, 1);
    fix_free(&f);
}

/* RFC 7323 §2.3: the shift is fixed in the SYN, so with autotuning it covers what the
 * buffer may grow to (1 MiB: 5; 16 MiB: 9), but leaves the buffer it starts with at least
 * 16 units of the scale: windows are multiples of 2^shift, and a 30-byte buffer under
 * shift 5 could offer nothing at all (torture seed 55 hung so). */
static void wscale_covers_the_autotuning_maximum_but_not_past_the_start(void **state)
{
    (void)state;
    static const struct {
        void (*tweak)(struct synack_config *);
        uint8_t shift;
    } cases[] = {
        {rcvbuf_64k_to_1m, 5},
        {rcvbuf_64k_to_16m, 9},
        {rcvbuf_300_to_1m, 4}, /* 300 >> 4 = 18 units; 300 >> 5 would be 9 */
        {rcvbuf_30_to_1m, 0},  /* 30 bytes: less than 16 units of 2 */
    };
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        struct fix f;
        struct wire_tcp_repr syn;
        fix_init(&f, cases[i].tweak);
        active_syn(&f, &syn);
        if (syn.wscale != cases[i].shift)
            fail_msg("rcvbuf %zu to %zu: shift %u offered, expected %u", f.cfg.rcvbuf,
                     f.cfg.rcvbuf_max, syn.wscale, cases[i].shift);
        expect_unscaled_syn_window(&syn, f.cfg.rcvbuf, cases[i].shift);
        fix_free(&f);
    }
}

/* RFC 7323 §2.2/§2.3: the window field of the peer's SYN-ACK is not scaled; from then on
 * it is shifted left by the peer's scale. Peer shift 3 and window field 1000: 1000 bytes
 * may go after the handshake, then 8000 once a non-SYN segment carries the field. */
static void peer_window_scaled_except_in_syn_rfc7323_2_2(void **state)
{
    (void)state;
    struct fix f;
    fix_init(&f, NULL);
    f.peer_wscale = 3;
    f.peer_wnd = 1000;
    fix_established_active(&f);
    assert_int_equal(synack_tcp_set_nodelay(f.c, true), 0);
    struct synack_tcp_info info = fix_info(&f);
    assert_true(info.window_scale);
    assert_int_equal(info.snd_wscale, 3);
    assert_int_equal(info.snd_wnd, 1000); /* the SYN-ACK's field, unscaled */

    uint8_t d[DATA_MAX];
    fill(d, sizeof d);
    assert_int_equal(synack_tcp_send(f.c, d, 9000, f.now), 9000);
    struct wire_tcp_repr seg;
    expect_data(&f, f.peer_ack, 1000, &seg);
    fix_expect_none(&f);

    /* An ACK with the same field: now 1000 << 3 = 8000 bytes. */
    fix_send(&f, WIRE_TCP_ACK, f.peer_nxt, f.peer_ack + 1000, NULL, 0);
    assert_int_equal(fix_info(&f).snd_wnd, 8000);
    uint32_t seq = f.peer_ack + 1000;
    for (int i = 0; i < 5; i++) {
        expect_data(&f, seq, 1460, &seg);
        seq += 1460;
    }
    expect_data(&f, seq, 700, &seg); /* 1000 + 8000 = 9000: the window is full */
    fix_expect_none(&f);
    assert_int_equal(fix_info(&f).snd_nxt, f.peer_ack + 9000);
    fix_free(&f);
}

/* RFC 7323 §2.3: our window field is RCV.WND >> Rcv.Wind.Shift in every non-SYN segment
 * (and the SYN's is unscaled). rcvbuf 1 MiB: shift 5. */
static void our_window_field_is_rcv_wnd_shifted_rfc7323_2_3(void **state)
{
    (void)state;
    struct fix f;
    fix_init(&f, rcvbuf_1m);
    f.peer_wscale = 0; /* offers scaling, with no shift of its own */
    struct wire_tcp_repr syn, ack;
    active_syn(&f, &syn);
    assert_int_equal(syn.wscale, 5);
    expect_unscaled_syn_window(&syn, f.cfg.rcvbuf, 5);
    active_complete(&f, &ack);
    struct synack_tcp_info info = fix_info(&f);
    assert_int_equal(info.rcv_wscale, 5);
    /* The window covers the buffer (to within the scale unit's rounding) ... */
    assert_true(info.rcv_wnd <= (1u << 20) && info.rcv_wnd >= (1u << 20) - 64);
    /* ... and the field carries it shifted: not clamped to 65535, not truncated. */
    assert_int_equal(ack.window, info.rcv_wnd >> 5);
    assert_int_equal((uint32_t)ack.window << 5, info.rcv_wnd);

    peer_data_at(&f, 0, 1024);
    f.peer_nxt += 1024;
    uint32_t before = info.rcv_wnd;
    expect_ack(&f, f.peer_nxt, &ack);
    info = fix_info(&f);
    assert_int_equal(info.rcv_wnd, before - 1024); /* the right edge stays put */
    assert_int_equal(ack.window, info.rcv_wnd >> info.rcv_wscale);
    assert_int_equal((uint32_t)ack.window << 5, info.rcv_wnd);
    fix_free(&f);
}

/* RFC 7323 §2.3: "If a Window Scale option is received with a shift.cnt value larger than
 * 14, the TCP SHOULD log the error but MUST use 14 instead of the specified value." */
static void wscale_above_14_used_as_14_rfc7323_2_3(void **state)
{
    (void)state;
    struct fix f;
    fix_init(&f, NULL);
    f.peer_wscale = 15;
    fix_established_active(&f);
    assert_int_equal(fix_info(&f).snd_wscale, 14);
    f.peer_wnd = 2;
    fix_send(&f, WIRE_TCP_ACK, f.peer_nxt, f.peer_ack, NULL, 0);
    assert_int_equal(fix_info(&f).snd_wnd, 2u << 14); /* not 2 << 15 */
    fix_free(&f);
}

/* ---- timestamps (RFC 7323 §3-§5) ------------------------------------------------------- */

/* RFC 7323 §3.2: our SYN offers TSopt with TSecr 0; the peer's SYN-ACK lacks it: no
 * timestamps on any later segment, and the peer's segments without TSopt are taken. */
static void ts_off_when_peer_syn_ack_lacks_it_rfc7323_3_2(void **state)
{
    (void)state;
    struct fix f;
    fix_init(&f, NULL);
    struct wire_tcp_repr syn, ack, seg;
    active_syn(&f, &syn);
    assert_true(syn.has_ts);
    assert_int_equal(syn.ts_ecr, 0); /* "TSecr ... MUST be zero" without ACK */
    active_complete(&f, &ack);
    assert_false(fix_info(&f).timestamps);
    assert_false(ack.has_ts);
    peer_data_at(&f, 0, 100);
    f.peer_nxt += 100;
    expect_ack(&f, f.peer_nxt, &seg);
    assert_false(seg.has_ts);
    assert_int_equal(fix_info(&f).rcv_nxt, f.peer_nxt);
    assert_int_equal(app_send(&f, 10), 10);
    expect_data(&f, f.peer_ack, 10, &seg);
    assert_false(seg.has_ts);
    fix_free(&f);
}

/* RFC 7323 §3.2: timestamps off in our configuration: no TSopt in our SYN, and a peer's
 * SYN-ACK with TSopt does not turn them on. */
static void ts_off_when_our_syn_lacks_it_rfc7323_3_2(void **state)
{
    (void)state;
    struct fix f;
    fix_init(&f, no_timestamps);
    f.peer_ts = true;
    struct wire_tcp_repr syn, ack;
    active_syn(&f, &syn);
    assert_false(syn.has_ts);
    active_complete(&f, &ack);
    assert_false(fix_info(&f).timestamps);
    assert_false(ack.has_ts);
    fix_free(&f);
}

/* RFC 7323 §3.2: the SYN-ACK carries TSopt only if the SYN did; then its TSecr echoes the
 * SYN's TSval. */
static void ts_in_syn_ack_only_if_peer_offered_rfc7323_3_2(void **state)
{
    (void)state;
    struct fix f;
    struct wire_tcp_repr syn_ack;

    fix_init(&f, NULL);
    passive_syn_ack(&f, &syn_ack);
    assert_false(syn_ack.has_ts);
    passive_complete(&f);
    assert_false(fix_info(&f).timestamps);
    fix_free(&f);

    fix_init(&f, NULL);
    f.peer_ts = true;
    f.peer_tsval = 4242;
    passive_syn_ack(&f, &syn_ack);
    assert_true(syn_ack.has_ts);
    assert_int_equal(syn_ack.ts_ecr, 4242);
    passive_complete(&f);
    assert_true(fix_info(&f).timestamps);
    fix_free(&f);
}

/* RFC 7323 §3.2: once negotiated, TSopt is in every non-RST segment we send (ACKs, data,
 * FIN), TSecr = TS.Recent, and TSval follows our clock. */
static void ts_on_every_segment_tsecr_is_ts_recent_rfc7323_3_2(void **state)
{
    (void)state;
    struct fix f;
    fix_init(&f, NULL);
    f.peer_ts = true;
    f.peer_tsval = 100;
    struct wire_tcp_repr syn, seg;
    active_syn(&f, &syn);
    active_complete(&f, &seg);
    assert_true(fix_info(&f).timestamps);
    assert_true(seg.has_ts);
    assert_int_equal(seg.ts_ecr, 100);
    uint32_t tsval0 = seg.ts_val;

    f.now += SYNACK_MS(7);
    f.peer_tsval = 150;
    peer_data_at(&f, 0, 100);
    f.peer_nxt += 100;
    expect_ack(&f, f.peer_nxt, &seg);
    assert_true(seg.has_ts);
    assert_int_equal(seg.ts_ecr, 150);
    assert_int_equal(seg.ts_val, tsval0 + 7); /* a 1 ms clock */

    f.now += SYNACK_MS(3);
    assert_int_equal(app_send(&f, 10), 10);
    expect_data(&f, f.peer_ack, 10, &seg);
    assert_true(seg.has_ts);
    assert_int_equal(seg.ts_ecr, 150);
    assert_int_equal(seg.ts_val, tsval0 + 10);
    f.peer_ack += 10;

    synack_tcp_shutdown(f.c, f.now);
    assert_true(fix_recv(&f, &seg));
    assert_int_equal(seg.flags, WIRE_TCP_FIN | WIRE_TCP_ACK);
    assert_true(seg.has_ts);
    assert_int_equal(seg.ts_ecr, 150);
    fix_free(&f);
}

/* RFC 7323 §4.3 (R3 of §5.3): TS.Recent takes SEG.TSval only from a segment with
 * SEG.SEQ =< Last.ACK.sent. An out-of-order segment with a newer TSval leaves it alone; the
 * segment that fills the hole updates it. */
static void ts_recent_only_from_segment_covering_last_ack_sent_rfc7323_4_3(void **state)
{
    (void)state;
    struct fix f;
    fix_init(&f, NULL);
    f.peer_ts = true;
    f.peer_tsval = 100;
    fix_established_active(&f);
    struct wire_tcp_repr seg;

    f.peer_tsval = 200;
    peer_data_at(&f, 1000, 500); /* above Last.ACK.sent */
    expect_ack(&f, f.peer_nxt, &seg);
    assert_int_equal(seg.ts_ecr, 100);

    f.peer_tsval = 300;
    peer_data_at(&f, 0, 1000); /* at Last.ACK.sent: fills the hole */
    expect_ack(&f, f.peer_nxt + 1500, &seg);
    assert_int_equal(seg.ts_ecr, 300);
    fix_free(&f);
}

/* RFC 7323 §4.3 case (A): with delayed ACKs, the ACK of two segments echoes the TSval of
 * the earlier one (the second lies above Last.ACK.sent). */
static void ts_recent_with_delayed_ack_echoes_earlier_segment_rfc7323_4_3(void **state)
{
    (void)state;
    struct fix f;
    fix_init(&f, delack_40ms);
    f.peer_ts = true;
    f.peer_tsval = 100;
    fix_established_active(&f);
    uint32_t mss = fix_info(&f).snd_eff_mss; /* 1448: full-sized with timestamps */
    assert_int_equal(mss, 1448);
    struct wire_tcp_repr seg;

    f.peer_tsval = 200;
    peer_data_at(&f, 0, mss);
    fix_expect_none(&f); /* delayed */
    f.peer_tsval = 300;
    peer_data_at(&f, mss, mss);
    expect_ack(&f, f.peer_nxt + 2 * mss, &seg);
    assert_int_equal(seg.ts_ecr, 200);
    fix_free(&f);
}

/* RFC 7323 §5.3 R1 (PAWS): a segment whose TSval is older than TS.Recent is not
 * acceptable: an ACK goes back, the segment is dropped (counted), its data not delivered. */
static void paws_drops_segment_with_old_tsval_rfc7323_5_3(void **state)
{
    (void)state;
    struct fix f;
    fix_init(&f, NULL);
    f.peer_ts = true;
    f.peer_tsval = 100;
    fix_established_active(&f);
    struct wire_tcp_repr seg;
    uint8_t buf[200];

    f.peer_tsval = 99;
    peer_data_at(&f, 0, 100);
    expect_ack(&f, f.peer_nxt, &seg);
    assert_true(seg.has_ts);
    assert_int_equal(seg.ts_ecr, 100); /* TS.Recent unchanged */
    fix_expect_none(&f);
    assert_int_equal(fix_drops(&f, SYNACK_DROP_PAWS), 1);
    assert_int_equal(synack_tcp_recv(f.c, buf, sizeof buf, f.now), SYNACK_ERR_AGAIN);
    struct synack_tcp_info info = fix_info(&f);
    assert_int_equal(info.rcv_nxt, f.peer_nxt);
    assert_int_equal(info.counters.bytes_in, 0);
    assert_false(fix_saw_event(&f, SYNACK_EV_READABLE, 0));

    /* The same text with a current TSval (equal is not older) is taken. */
    f.peer_tsval = 100;
    peer_data_at(&f, 0, 100);
    f.peer_nxt += 100;
    expect_ack(&f, f.peer_nxt, &seg);
    uint8_t want[100];
    fill(want, sizeof want);
    assert_int_equal(synack_tcp_recv(f.c, buf, sizeof buf, f.now), 100);
    assert_memory_equal(buf, want, 100);
    assert_int_equal(fix_drops(&f, SYNACK_DROP_PAWS), 1);
    fix_free(&f);
}

/* RFC 7323 §5.5: after more than 24 days without a TS.Recent update, TS.Recent is invalid:
 * a segment with an older TSval "is accepted, regardless of the failure of the timestamp
 * check, and rule R3 updates TS.Recent with the TSval from the new segment". So the ACK
 * echoes the new TSval, and PAWS protects again from there on. */
static void paws_ts_recent_invalid_after_24_days_idle_rfc7323_5_5(void **state)
{
    (void)state;
    struct fix f;
    fix_init(&f, NULL);
    f.peer_ts = true;
    f.peer_tsval = 0x70000000u;
    fix_established_active(&f);
    struct wire_tcp_repr seg;
    uint8_t buf[200];

    f.now += SYNACK_S(25ull * 24 * 3600); /* idle: the peer's clock wrapped its sign bit */
    f.peer_tsval = 5000;
    peer_data_at(&f, 0, 100);
    f.peer_nxt += 100;
    expect_ack(&f, f.peer_nxt, &seg);
    assert_int_equal(synack_tcp_recv(f.c, buf, sizeof buf, f.now), 100);
    assert_int_equal(fix_drops(&f, SYNACK_DROP_PAWS), 0);
    if (seg.ts_ecr != 5000)
        fail_msg("TSecr %u after the idle period, expected 5000 (TS.Recent updated by R3)",
                 seg.ts_ecr);

    /* TS.Recent is 5000 and fresh: an older TSval is rejected again (R1). */
    f.peer_tsval = 4000;
    peer_data_at(&f, 0, 100);
    expect_ack(&f, f.peer_nxt, &seg);
    assert_int_equal(fix_drops(&f, SYNACK_DROP_PAWS), 1);
    assert_int_equal(synack_tcp_recv(f.c, buf, sizeof buf, f.now), SYNACK_ERR_AGAIN);
    fix_free(&f);
}

/* RFC 7323 §2.2: "A Window Scale option in a segment without a SYN bit should be ignored":
 * it neither turns scaling on nor changes the shift in use. */
static void wscale_option_in_non_syn_ignored_rfc7323_2_2(void **state)
{
    (void)state;
    struct fix f;
    fix_init(&f, NULL);
    fix_established_active(&f); /* no scaling: the peer's SYN-ACK had no option */
    struct wire_tcp_repr ack = {.src_port = f.rport,
                                .dst_port = f.lport,
                                .seq = f.peer_nxt,
                                .ack = f.peer_ack,
                                .flags = WIRE_TCP_ACK,
                                .window = 1000,
                                .has_wscale = true,
                                .wscale = 3};
    fix_send_repr(&f, &ack);
    struct synack_tcp_info info = fix_info(&f);
    assert_false(info.window_scale);
    assert_int_equal(info.snd_wscale, 0);
    assert_int_equal(info.snd_wnd, 1000);
    fix_free(&f);

    fix_init(&f, NULL);
    f.peer_wscale = 1;
    fix_established_active(&f);
    ack.seq = f.peer_nxt;
    ack.ack = f.peer_ack;
    fix_send_repr(&f, &ack);
    info = fix_info(&f);
    assert_int_equal(info.snd_wscale, 1);
    assert_int_equal(info.snd_wnd, 2000);
    fix_free(&f);
}

/* RFC 7323 §3.2: "If a non-<RST> segment is received without a TSopt, a TCP SHOULD
 * silently drop the segment." */
static void segment_without_ts_dropped_after_negotiation_rfc7323_3_2(void **state)
{
    (void)state;
    struct fix f;
    fix_init(&f, NULL);
    f.peer_ts = true;
    fix_established_active(&f);
    uint8_t buf[200];

    f.peer_ts = false;
    peer_data_at(&f, 0, 100);
    fix_expect_none(&f); /* silently */
    assert_int_equal(synack_tcp_recv(f.c, buf, sizeof buf, f.now), SYNACK_ERR_AGAIN);
    assert_int_equal(fix_info(&f).rcv_nxt, f.peer_nxt);
    assert_int_equal(fix_info(&f).counters.bytes_in, 0);

    f.peer_ts = true;
    peer_data_at(&f, 0, 100);
    f.peer_nxt += 100;
    fix_expect(&f, WIRE_TCP_ACK, f.peer_ack, f.peer_nxt);
    assert_int_equal(synack_tcp_recv(f.c, buf, sizeof buf, f.now), 100);
    fix_free(&f);
}

/* RFC 7323 §3.2: the rule is for non-RST segments; a RST without TSopt is still processed
 * (RFC 9293 §3.10.7.4: in sequence, it resets the connection). */
static void rst_without_ts_still_processed_rfc7323_3_2(void **state)
{
    (void)state;
    struct fix f;
    fix_init(&f, NULL);
    f.peer_ts = true;
    fix_established_active(&f);
    fix_send(&f, WIRE_TCP_RST, f.peer_nxt, 0, NULL, 0); /* fix_send puts no TSopt on RSTs */
    assert_int_equal(synack_tcp_state(f.c), SYNACK_CLOSED);
    assert_true(fix_saw_event(&f, SYNACK_EV_ERROR, SYNACK_ERR_CONNRESET));
    synack_tcp_close(f.c, f.now);
    fix_free(&f);
}

/* RFC 7323 §4 (RTTM) with RFC 6298: when every segment an ACK covers was retransmitted,
 * Karn's rule forbids a sample from the send times, but the echoed TSval gives one.
 * Handshake RTT 100 ms (SRTT 100, RTTVAR 50); data retransmitted at +300 ms; the ACK
 * arrives 50 ms later echoing the retransmission: R = 50 ms, so RTTVAR = 3/4*50 + 1/4*50
 * = 50 ms and SRTT = 7/8*100 + 1/8*50 = 93.75 ms. */
static void rtt_from_ts_echo_when_acked_data_was_retransmitted_rfc7323_4(void **state)
{
    (void)state;
    struct fix f;
    fix_init(&f, NULL);
    f.peer_ts = true;
    struct wire_tcp_repr syn, seg;
    active_syn(&f, &syn);
    f.now += SYNACK_MS(100);
    active_complete(&f, &seg);
    struct synack_tcp_info info = fix_info(&f);
    assert_true(info.srtt == SYNACK_MS(100));
    assert_true(info.rttvar == SYNACK_MS(50));
    assert_true(info.rto == SYNACK_MS(300));

    assert_int_equal(app_send(&f, 100), 100);
    expect_data(&f, f.peer_ack, 100, &seg);
    fix_run_next_timer(&f); /* the RTO, +300 ms */
    expect_data(&f, f.peer_ack, 100, &seg);
    assert_int_equal(fix_info(&f).counters.retransmits, 1);
    f.now += SYNACK_MS(50);
    f.peer_tsval += 350;
    fix_send(&f, WIRE_TCP_ACK, f.peer_nxt, f.peer_ack + 100, NULL, 0); /* TSecr = last TSval */
    info = fix_info(&f);
    assert_int_equal(info.snd_una, f.peer_ack + 100);
    if (info.srtt != SYNACK_US(93750))
        fail_msg("srtt %llu ns, expected 93750000 (a 50 ms sample)", (unsigned long long)info.srtt);
    assert_true(info.rttvar == SYNACK_MS(50));
    fix_free(&f);
}

/* ---- SACK-permitted (RFC 2018 §2) -------------------------------------------------------- */

/* RFC 2018 §2: SACK-permitted goes in the SYN; SACK is used only if both SYNs carry it. */
static void sack_off_when_peer_syn_ack_lacks_it_rfc2018_2(void **state)
{
    (void)state;
    struct fix f;
    fix_init(&f, NULL);
    struct wire_tcp_repr syn, seg;
    active_syn(&f, &syn);
    assert_true(syn.sack_permitted);
    active_complete(&f, &seg);
    assert_false(fix_info(&f).sack);
    peer_data_at(&f, 1000, 100); /* out of order: a duplicate ACK, with no SACK option */
    expect_ack(&f, f.peer_nxt, &seg);
    assert_int_equal(seg.sack_count, 0);
    fix_free(&f);
}

/* RFC 2018 §2: the SYN-ACK carries SACK-permitted only if the peer's SYN did; with it,
 * out-of-order data is reported in SACK blocks. */
static void sack_permitted_in_syn_ack_only_if_peer_offered_rfc2018_2(void **state)
{
    (void)state;
    struct fix f;
    struct wire_tcp_repr syn_ack, seg;

    fix_init(&f, NULL);
    passive_syn_ack(&f, &syn_ack);
    assert_false(syn_ack.sack_permitted);
    passive_complete(&f);
    assert_false(fix_info(&f).sack);
    fix_free(&f);

    fix_init(&f, NULL);
    f.peer_sack = true;
    passive_syn_ack(&f, &syn_ack);
    assert_true(syn_ack.sack_permitted);
    passive_complete(&f);
    assert_true(fix_info(&f).sack);
    peer_data_at(&f, 1000, 100);
    expect_ack(&f, f.peer_nxt, &seg);
    assert_int_equal(seg.sack_count, 1);
    assert_int_equal(seg.sack[0].left, f.peer_nxt + 1000);
    assert_int_equal(seg.sack[0].right, f.peer_nxt + 1100);
    fix_free(&f);
}

/* ---- configuration and MSS ------------------------------------------------------------- */

static void expect_no_options_but_mss(const struct wire_tcp_repr *seg)
{
    assert_false(seg->has_wscale);
    assert_false(seg->sack_permitted);
    assert_false(seg->has_ts);
    assert_int_equal(seg->sack_count, 0);
}

/* RFC 7323 §2.2/§3.2, RFC 2018 §2: with every option off, the SYN carries only the MSS;
 * a peer offering all of them gets none, and nothing is used afterwards. */
static void no_options_sent_when_config_turns_them_off_active(void **state)
{
    (void)state;
    struct fix f;
    fix_init(&f, no_options);
    f.peer_wscale = 3;
    f.peer_sack = true;
    f.peer_ts = true;
    struct wire_tcp_repr syn, seg;
    active_syn(&f, &syn);
    assert_true(syn.has_mss);
    expect_no_options_but_mss(&syn);
    active_complete(&f, &seg);
    expect_no_options_but_mss(&seg);
    struct synack_tcp_info info = fix_info(&f);
    assert_false(info.window_scale);
    assert_false(info.sack);
    assert_false(info.timestamps);
    assert_int_equal(seg.window, 65535);
    peer_data_at(&f, 1000, 100); /* out of order, with the peer's TSopt */
    expect_ack(&f, f.peer_nxt, &seg);
    expect_no_options_but_mss(&seg);
    assert_false(seg.has_mss);
    fix_free(&f);
}

static void no_options_sent_when_config_turns_them_off_passive(void **state)
{
    (void)state;
    struct fix f;
    fix_init(&f, no_options);
    f.peer_wscale = 3;
    f.peer_sack = true;
    f.peer_ts = true;
    struct wire_tcp_repr syn_ack;
    passive_syn_ack(&f, &syn_ack);
    assert_true(syn_ack.has_mss);
    expect_no_options_but_mss(&syn_ack);
    passive_complete(&f);
    struct synack_tcp_info info = fix_info(&f);
    assert_false(info.window_scale);
    assert_false(info.sack);
    assert_false(info.timestamps);
    fix_free(&f);
}

/* RFC 9293 §3.7.1 / RFC 6691: the MSS counts data only; with timestamps on every segment
 * the payload of a full segment is 1460 - 12 = 1448. */
static void effective_mss_excludes_timestamps_rfc7323_3_2(void **state)
{
    (void)state;
    struct fix f;
    struct wire_tcp_repr seg;
    fix_init(&f, NULL);
    f.peer_ts = true;
    fix_established_active(&f);
    assert_int_equal(fix_info(&f).snd_mss, 1460);
    assert_int_equal(app_send(&f, 3000), 3000);
    expect_data(&f, f.peer_ack, 1448, &seg);
    assert_true(seg.has_ts);
    expect_data(&f, f.peer_ack + 1448, 1448, &seg);
    expect_data(&f, f.peer_ack + 2896, 104, &seg);
    fix_expect_none(&f);
    fix_free(&f);

    /* Without timestamps, full 1460-byte segments. */
    fix_init(&f, NULL);
    fix_established_active(&f);
    assert_int_equal(app_send(&f, 3000), 3000);
    expect_data(&f, f.peer_ack, 1460, &seg);
    expect_data(&f, f.peer_ack + 1460, 1460, &seg);
    expect_data(&f, f.peer_ack + 2920, 80, &seg);
    fix_free(&f);
}

static const struct CMUnitTest tests[] = {
    cmocka_unit_test(wscale_off_when_peer_syn_ack_lacks_it_rfc7323_2_2),
    cmocka_unit_test(wscale_off_when_our_syn_lacks_it_rfc7323_2_2),
    cmocka_unit_test(wscale_in_syn_ack_only_if_peer_offered_rfc7323_2_2),
    cmocka_unit_test(wscale_offered_is_smallest_covering_rcvbuf_rfc7323_2_3),
    cmocka_unit_test(wscale_covers_the_autotuning_maximum_but_not_past_the_start),
    cmocka_unit_test(set_bufsize_checks_range_and_clamps_to_the_window_field),
    cmocka_unit_test(peer_window_scaled_except_in_syn_rfc7323_2_2),
    cmocka_unit_test(our_window_field_is_rcv_wnd_shifted_rfc7323_2_3),
    cmocka_unit_test(wscale_above_14_used_as_14_rfc7323_2_3),
    cmocka_unit_test(wscale_option_in_non_syn_ignored_rfc7323_2_2),
    cmocka_unit_test(ts_off_when_peer_syn_ack_lacks_it_rfc7323_3_2),
    cmocka_unit_test(ts_off_when_our_syn_lacks_it_rfc7323_3_2),
    cmocka_unit_test(ts_in_syn_ack_only_if_peer_offered_rfc7323_3_2),
    cmocka_unit_test(ts_on_every_segment_tsecr_is_ts_recent_rfc7323_3_2),
    cmocka_unit_test(ts_recent_only_from_segment_covering_last_ack_sent_rfc7323_4_3),
    cmocka_unit_test(ts_recent_with_delayed_ack_echoes_earlier_segment_rfc7323_4_3),
    cmocka_unit_test(paws_drops_segment_with_old_tsval_rfc7323_5_3),
    cmocka_unit_test(paws_ts_recent_invalid_after_24_days_idle_rfc7323_5_5),
    cmocka_unit_test(segment_without_ts_dropped_after_negotiation_rfc7323_3_2),
    cmocka_unit_test(rst_without_ts_still_processed_rfc7323_3_2),
    cmocka_unit_test(rtt_from_ts_echo_when_acked_data_was_retransmitted_rfc7323_4),
    cmocka_unit_test(sack_off_when_peer_syn_ack_lacks_it_rfc2018_2),
    cmocka_unit_test(sack_permitted_in_syn_ack_only_if_peer_offered_rfc2018_2),
    cmocka_unit_test(no_options_sent_when_config_turns_them_off_active),
    cmocka_unit_test(no_options_sent_when_config_turns_them_off_passive),
    cmocka_unit_test(effective_mss_excludes_timestamps_rfc7323_3_2),
};

SYNACK_TEST_MAIN("options", tests)
