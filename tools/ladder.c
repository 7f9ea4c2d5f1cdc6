#include "ladder.h"

#include <stdio.h>
#include <string.h>

#include "scenario.h"

#define LADDER_HEAD 60 /* lines shown before eliding a long transfer */
#define ARROW_WIDTH 60

static double ms(synack_time_t t)
{
    return (double)t / 1e6;
}

void ladder_init(struct ladder *L, bool quiet, bool ipv6)
{
    memset(L, 0, sizeof *L);
    L->out = stdout;
    L->quiet = quiet;
    L->ipv6 = ipv6;
    L->states = true;
    L->fin_side[0] = L->fin_side[1] = -1;
    annotator_init(&L->a);
}

/* The handshake's steps: "handshake 1/3", or the crossing SYNs of a simultaneous open. */
static bool label_open(struct ladder *L, int side, const struct synack_segment *seg, char *buf,
                       size_t cap)
{
    uint8_t f = seg->flags;
    bool simultaneous = L->syn_sides == 3;
    if ((f & SYNACK_TCP_SYN) && !(f & SYNACK_TCP_ACK)) {
        L->syn_sides |= 1u << side;
        snprintf(buf, cap, L->syn_sides == 3 ? "simultaneous open: SYNs cross" : "handshake 1/3");
        if (L->handshake_step == 0) L->handshake_step = 1;
        return true;
    }
    if ((f & SYNACK_TCP_SYN) && (f & SYNACK_TCP_ACK)) {
        if (L->handshake_step < 2) L->handshake_step = 2;
        snprintf(buf, cap, simultaneous ? "simultaneous open: SYN-ACKs cross" : "handshake 2/3");
        return true;
    }
    if (f & SYNACK_TCP_RST) {
        snprintf(buf, cap, "reset");
        return true;
    }
    /* The third step: the opener's first segment after the SYN-ACK, with data or not. */
    if (L->handshake_step == 2 && !simultaneous && L->syn_sides == 1u << side &&
        (f & SYNACK_TCP_ACK)) {
        L->handshake_step = 3;
        snprintf(buf, cap, seg->payload_len ? "handshake 3/3, with data" : "handshake 3/3");
        return !(f & SYNACK_TCP_FIN);
    }
    return false;
}

/* The close: FIN from one side (1/4), its ACK (2/4), FIN from the other (3/4), its ACK
 * (4/4). A FIN that also acknowledges the first FIN is steps 2/4 and 3/4 at once. */
static void label_close(struct ladder *L, int side, const struct synack_segment *seg, char *buf,
                        size_t cap)
{
    uint8_t f = seg->flags;
    bool acks_first = L->close_step >= 1 && side != L->fin_side[0] && (f & SYNACK_TCP_ACK) &&
                      synack_seq_geq(seg->ack, L->fin_seq[0] + 1);
    if (f & SYNACK_TCP_FIN) {
        if (L->close_step == 0) {
            L->close_step = 1;
            L->fin_side[0] = side;
            L->fin_seq[0] = seg->seq + (uint32_t)seg->payload_len;
            snprintf(buf, cap, "close 1/4");
        } else if (side != L->fin_side[0] && L->close_step < 3) {
            L->fin_side[1] = side;
            L->fin_seq[1] = seg->seq + (uint32_t)seg->payload_len;
            snprintf(buf, cap,
                     acks_first && L->close_step == 1 ? "close 2/4 + 3/4"
                     : acks_first                     ? "close 3/4"
                                                      : "close 3/4 (simultaneous)");
            L->close_step = 3;
        }
        return;
    }
    if (L->close_step == 1 && acks_first) {
        L->close_step = 2;
        snprintf(buf, cap, "close 2/4");
    } else if (L->close_step == 3 && side == L->fin_side[0] && (f & SYNACK_TCP_ACK) &&
               synack_seq_geq(seg->ack, L->fin_seq[1] + 1)) {
        L->close_step = 4;
        snprintf(buf, cap, "close 4/4");
    } else if (L->close_step == 3 && side == L->fin_side[1] && (f & SYNACK_TCP_ACK) &&
               synack_seq_geq(seg->ack, L->fin_seq[0] + 1)) {
        snprintf(buf, cap, "close: ACK of the crossing FIN");
    }
}

/* "handshake 1/3; mss 1460, wscale 7, sackOK, TS", "dup ACK #2; SACK 2897-4345", ... */
static void ladder_label(struct ladder *L, const struct annotated *x, char *buf, size_t cap)
{
    char step[48] = "", notes[96], opts[96];
    if (!label_open(L, x->side, &x->seg, step, sizeof step))
        label_close(L, x->side, &x->seg, step, sizeof step);
    annotate_notes(x, notes, sizeof notes);
    bool bare_ack = x->seg.flags == SYNACK_TCP_ACK && x->seg.payload_len == 0;
    if (L->edges && bare_ack && !step[0]) {
        size_t n = strlen(notes);
        snprintf(notes + n, sizeof notes - n, "%swindow [%u, %u)", n ? ", " : "", x->rel_ack,
                 x->rel_edge);
    }
    annotate_options(&L->a, x, opts, sizeof opts);
    size_t n = 0;
    buf[0] = 0;
    const char *parts[] = {step, notes, opts};
    for (size_t i = 0; i < 3; i++)
        if (parts[i][0] && n < cap)
            n += (size_t)snprintf(buf + n, cap - n, "%s%s", n ? "; " : "", parts[i]);
}

static void ladder_emit(struct ladder *L, synack_time_t t, const char *line)
{
    if (t < L->last_t) t = L->last_t; /* a listen's STATE event carries no time */
    L->last_t = t;
    L->total++;
    if (L->quiet) return;
    if (L->total == 1) { /* the header comes with the first line, not before an error */
        char c[SYNACK_ADDR_STRLEN + 10], s[SYNACK_ADDR_STRLEN + 10], a[SYNACK_ADDR_STRLEN];
        struct synack_addr ca = scenario_addr(L->ipv6, false), sa = scenario_addr(L->ipv6, true);
        synack_addr_format(&ca, a, sizeof a);
        snprintf(c, sizeof c, " client %s", a);
        synack_addr_format(&sa, a, sizeof a);
        snprintf(s, sizeof s, "server %s ", a);
        fprintf(L->out, "%10s  |%-*s|\n%10s  |%*s|\n", "time ms", ARROW_WIDTH, c, "", ARROW_WIDTH,
                s);
    }
    if (L->total <= LADDER_HEAD) {
        fprintf(L->out, "%10.3f  %s\n", ms(t), line);
        return;
    }
    /* Past the head, keep only the last lines: printed at the end with the elided count. */
    struct ladder_line *slot = &L->tail[(L->tail_head + L->tail_len) % LADDER_TAIL];
    if (L->tail_len == LADDER_TAIL) {
        L->tail_head = (L->tail_head + 1) % LADDER_TAIL;
        L->elided++;
    } else {
        L->tail_len++;
    }
    slot->t = t;
    snprintf(slot->text, sizeof slot->text, "%s", line);
}

void ladder_flush(struct ladder *L)
{
    if (L->quiet) return;
    if (L->elided)
        fprintf(L->out, "%10s  %*s... %llu more lines ...\n", "", ARROW_WIDTH / 2 - 10, "",
                (unsigned long long)L->elided);
    for (size_t i = 0; i < L->tail_len; i++) {
        const struct ladder_line *l = &L->tail[(L->tail_head + i) % LADDER_TAIL];
        fprintf(L->out, "%10.3f  %s\n", ms(l->t), l->text);
    }
    L->tail_len = 0;
}

/* The arrow of one segment: client on the left, server on the right. */
static void ladder_arrow(const struct ladder *L, const struct annotated *x, char *arrow)
{
    const struct synack_segment *seg = &x->seg;
    int side = x->side;
    char flags[16], body[96];
    synack_format_tcp_flags(flags, sizeof flags, seg->flags);
    int n = snprintf(body, sizeof body, " %s seq %u", flags, x->rel_seq);
    if ((seg->flags & SYNACK_TCP_ACK) && L->a.have_iss[!side])
        n += snprintf(body + n, sizeof body - (size_t)n, " ack %u", x->rel_ack);
    snprintf(body + n, sizeof body - (size_t)n, " win %u len %zu ", seg->window, seg->payload_len);
    size_t blen = strlen(body);
    if (blen > ARROW_WIDTH - 4) blen = ARROW_WIDTH - 4;
    size_t dashes = ARROW_WIDTH - 2 - blen; /* two for the arrowhead and its tail */
    size_t left = side == 0 ? 2 : dashes - 2;
    size_t pos = 0;
    arrow[pos++] = side == 0 ? '-' : '<';
    for (size_t i = 0; i < left; i++)
        arrow[pos++] = '-';
    memcpy(arrow + pos, body, blen);
    pos += blen;
    while (pos < ARROW_WIDTH - 1)
        arrow[pos++] = '-';
    arrow[pos++] = side == 0 ? '>' : '-';
    arrow[pos] = 0;
}

void ladder_observe(void *ctx, const struct synack_sim_packet *ev)
{
    struct ladder *L = ctx;
    struct annotated x;
    if (!annotator_packet(&L->a, ev, &x)) return;
    char line[240];
    if (x.kind == SYNACK_SIM_DELIVERED) return;
    if (x.kind != SYNACK_SIM_SENT) {
        snprintf(line, sizeof line, "|%*s^ %s on the way (packet %llu of its link)",
                 x.side == 0 ? 3 : ARROW_WIDTH - 29, "", synack_sim_packet_kind_name(x.kind),
                 (unsigned long long)x.number);
        ladder_emit(L, x.t, line);
        return;
    }
    char arrow[ARROW_WIDTH + 1], label[160];
    ladder_arrow(L, &x, arrow);
    ladder_label(L, &x, label, sizeof label);
    snprintf(line, sizeof line, "|%s|%s%s", arrow, label[0] ? "  " : "", label);
    ladder_emit(L, x.t, line);
}

void ladder_state(void *ctx, char side, enum synack_state from, enum synack_state to,
                  synack_time_t t)
{
    struct ladder *L = ctx;
    int s = side == 'c' ? 0 : 1;
    char cause[48], text[120];
    annotator_state(&L->a, s, from, to, t, cause, sizeof cause);
    if (!L->states) return;
    snprintf(text, sizeof text, "%s %s -> %s%s%s%s", s == 0 ? "client" : "server",
             synack_state_name(from), synack_state_name(to), cause[0] ? " (" : "", cause,
             cause[0] ? ")" : "");
    ladder_note(L, s, t, text);
}

void ladder_note(struct ladder *L, int side, synack_time_t t, const char *text)
{
    char line[240];
    if (side == 0)
        snprintf(line, sizeof line, "|  %-*s|", ARROW_WIDTH - 2, text);
    else
        snprintf(line, sizeof line, "|%*s  |", ARROW_WIDTH - 2, text);
    ladder_emit(L, t, line);
}

void ladder_legend(bool zh)
{
    if (zh) {
        printf("\n标志的写法与 tcpdump 相同:S SYN,F FIN,R RST,P PSH,. ACK([S.] 即 SYN+ACK,\n"
               "[FP.] 即 FIN+PSH+ACK);seq 和 ack 从各自的 ISN 起算;win 是报文里的窗口字段\n"
               "(按发送方在 SYN 中给出的 wscale 移位);len 是携带的数据长度。\n");
        return;
    }
    printf("\nflags as tcpdump writes them: S SYN, F FIN, R RST, P PSH, . ACK ([S.] is SYN+ACK,\n"
           "[FP.] FIN+PSH+ACK); seq and ack count from each side's ISN; win is the window field\n"
           "as sent (shifted by the wscale its sender offered); len is the data carried.\n");
}

void ladder_call(void *ctx, char side, const char *call, int rc, synack_time_t t)
{
    char text[120];
    bool eof = rc == 0 && strcmp(call, "recv()") == 0;
    if (rc >= 0)
        snprintf(text, sizeof text, "%s %s = %d%s", side == 'c' ? "client" : "server", call, rc,
                 eof ? ": end of stream" : "");
    else
        snprintf(text, sizeof text, "%s %s: %s", side == 'c' ? "client" : "server", call,
                 rc == SYNACK_ERR_ADDRINUSE ? "EADDRINUSE" : synack_strerror(rc));
    ladder_note(ctx, side == 'c' ? 0 : 1, t, text);
}
