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

/* Every word the ladder writes, in English and in Chinese (the seeds' terms: 三次握手,
 * 四次挥手, 重传, 重复确认, ...). TCP's own names (SYN, ACK, FIN, RST, the states, the
 * socket calls) stay as they are in both. Pairs named _PRE and _POST go either side of
 * a number or a name. */
enum ladder_word {
    W_HANDSHAKE,
    W_WITH_DATA,
    W_SIMOPEN_SYNS,
    W_SIMOPEN_SYNACKS,
    W_RESET,
    W_CLOSE,
    W_SIMULTANEOUS,
    W_CROSSING_FIN_ACK,
    W_DUP_ACK,
    W_RETRANSMISSION,
    W_ZERO_WINDOW,
    W_WINDOW_UPDATE,
    W_WINDOW_PROBE,
    W_KEEPALIVE,
    W_SENT_IN_TIME_WAIT,
    W_FILLS_WINDOW,
    W_WINDOW,
    W_LOST,
    W_DROPPED,
    W_QUEUE_FULL,
    W_ON_THE_WAY_PRE,
    W_ON_THE_WAY_POST,
    W_CLIENT,
    W_SERVER,
    W_CAUSE_CONNECT,
    W_CAUSE_LISTEN,
    W_CAUSE_LISTENER_CLOSES,
    W_CAUSE_APP_CLOSES,
    W_CAUSE_ABORT,
    W_CAUSE_ARRIVING_PRE,
    W_CAUSE_ARRIVING_POST,
    W_CAUSE_2MSL,
    W_END_OF_STREAM,
    W_TIME_MS,
    W_MORE_LINES_PRE,
    W_MORE_LINES_POST,
    W_LEGEND,
    W_COUNT
};

static const char *const ladder_words[W_COUNT][2] = {
    [W_HANDSHAKE] = {"handshake", "三次握手"},
    [W_WITH_DATA] = {"with data", "携带数据"},
    [W_SIMOPEN_SYNS] = {"simultaneous open: SYNs cross", "同时打开:两个 SYN 交叉"},
    [W_SIMOPEN_SYNACKS] = {"simultaneous open: SYN-ACKs cross", "同时打开:两个 SYN-ACK 交叉"},
    [W_RESET] = {"reset", "重置"},
    [W_CLOSE] = {"close", "四次挥手"},
    [W_SIMULTANEOUS] = {"simultaneous", "同时关闭"},
    [W_CROSSING_FIN_ACK] = {"close: ACK of the crossing FIN", "四次挥手:确认交叉而来的 FIN"},
    [W_DUP_ACK] = {"dup ACK", "重复确认"},
    [W_RETRANSMISSION] = {"RETRANSMISSION", "重传"},
    [W_ZERO_WINDOW] = {"zero window", "零窗口"},
    [W_WINDOW_UPDATE] = {"window update", "窗口更新"},
    [W_WINDOW_PROBE] = {"window probe", "窗口探测"},
    [W_KEEPALIVE] = {"keepalive", "保活探测"},
    [W_SENT_IN_TIME_WAIT] = {"sent in TIME_WAIT", "在 TIME_WAIT 中发出"},
    [W_FILLS_WINDOW] = {"fills the window", "填满窗口"},
    [W_WINDOW] = {"window", "窗口"},
    [W_LOST] = {"lost", "丢失"},
    [W_DROPPED] = {"dropped", "被丢弃"},
    [W_QUEUE_FULL] = {"queue-full", "队列满被丢弃"},
    [W_ON_THE_WAY_PRE] = {" on the way (packet", "(途中,该链路的第"},
    [W_ON_THE_WAY_POST] = {"of its link)", "个包)"},
    [W_CLIENT] = {"client", "客户端"},
    [W_SERVER] = {"server", "服务器"},
    [W_CAUSE_CONNECT] = {"connect", "connect"},
    [W_CAUSE_LISTEN] = {"listen", "listen"},
    [W_CAUSE_LISTENER_CLOSES] = {"the listener closes", "监听套接字关闭"},
    [W_CAUSE_APP_CLOSES] = {"the application closes", "应用程序关闭"},
    [W_CAUSE_ABORT] = {"abort", "中止"},
    [W_CAUSE_ARRIVING_PRE] = {"the", "收到"},
    [W_CAUSE_ARRIVING_POST] = {" arriving", ""},
    [W_CAUSE_2MSL] = {"2*MSL expiring", "2*MSL 到期"},
    [W_END_OF_STREAM] = {"end of stream", "读到流的末尾"},
    [W_TIME_MS] = {"time ms", "时间 ms"},
    [W_MORE_LINES_PRE] = {"...", "... 省略"},
    [W_MORE_LINES_POST] = {"more lines ...", "行 ..."},
    [W_LEGEND] = {"\nflags as tcpdump writes them: S SYN, F FIN, R RST, P PSH, . ACK ([S.] is "
                  "SYN+ACK,\n[FP.] FIN+PSH+ACK); seq and ack count from each side's ISN; win is "
                  "the window field\nas sent (shifted by the wscale its sender offered); len is "
                  "the data carried.\n",
                  "\n标志的写法与 tcpdump 相同:S SYN,F FIN,R RST,P PSH,. ACK([S.] 即 SYN+ACK,\n"
                  "[FP.] 即 FIN+PSH+ACK);seq 和 ack 从各自的 ISN 起算;win 是报文里的窗口字段\n"
                  "(按发送方在 SYN 中给出的 wscale 移位);len 是携带的数据长度。\n"},
};

static const char *word(const struct ladder *L, enum ladder_word w)
{
    return ladder_words[w][L->zh ? 1 : 0];
}

/* Columns a UTF-8 string takes on a terminal: a CJK character (U+3000 and up, three
 * bytes) two, anything else one. printf's widths count bytes, so padding uses this. */
static size_t text_columns(const char *s)
{
    size_t cols = 0;
    for (const unsigned char *p = (const unsigned char *)s; *p; p++) {
        if ((*p & 0xC0) == 0x80) continue; /* a continuation byte */
        cols += *p >= 0xE3 && *p < 0xF0 ? 2 : 1;
    }
    return cols;
}

/* `text` padded with blanks to `cols` columns, on the left (right-aligned) or the right. */
static void pad_columns(char *out, size_t cap, const char *text, size_t cols, bool right_align)
{
    size_t have = text_columns(text), pad = have < cols ? cols - have : 0;
    if (right_align)
        snprintf(out, cap, "%*s%s", (int)pad, "", text);
    else
        snprintf(out, cap, "%s%*s", text, (int)pad, "");
}

void ladder_init(struct ladder *L, bool quiet, bool ipv6, bool zh)
{
    memset(L, 0, sizeof *L);
    L->out = stdout;
    L->quiet = quiet;
    L->ipv6 = ipv6;
    L->zh = zh;
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
        if (L->syn_sides == 3)
            snprintf(buf, cap, "%s", word(L, W_SIMOPEN_SYNS));
        else
            snprintf(buf, cap, "%s 1/3", word(L, W_HANDSHAKE));
        if (L->handshake_step == 0) L->handshake_step = 1;
        return true;
    }
    if ((f & SYNACK_TCP_SYN) && (f & SYNACK_TCP_ACK)) {
        if (L->handshake_step < 2) L->handshake_step = 2;
        if (simultaneous)
            snprintf(buf, cap, "%s", word(L, W_SIMOPEN_SYNACKS));
        else
            snprintf(buf, cap, "%s 2/3", word(L, W_HANDSHAKE));
        return true;
    }
    if (f & SYNACK_TCP_RST) {
        snprintf(buf, cap, "%s", word(L, W_RESET));
        return true;
    }
    /* The third step: the opener's first segment after the SYN-ACK, with data or not. */
    if (L->handshake_step == 2 && !simultaneous && L->syn_sides == 1u << side &&
        (f & SYNACK_TCP_ACK)) {
        L->handshake_step = 3;
        snprintf(buf, cap, "%s 3/3%s%s", word(L, W_HANDSHAKE), seg->payload_len ? ", " : "",
                 seg->payload_len ? word(L, W_WITH_DATA) : "");
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
            snprintf(buf, cap, "%s 1/4", word(L, W_CLOSE));
        } else if (side != L->fin_side[0] && L->close_step < 3) {
            L->fin_side[1] = side;
            L->fin_seq[1] = seg->seq + (uint32_t)seg->payload_len;
            if (acks_first && L->close_step == 1)
                snprintf(buf, cap, "%s 2/4 + 3/4", word(L, W_CLOSE));
            else if (acks_first)
                snprintf(buf, cap, "%s 3/4", word(L, W_CLOSE));
            else
                snprintf(buf, cap, "%s 3/4 (%s)", word(L, W_CLOSE), word(L, W_SIMULTANEOUS));
            L->close_step = 3;
        }
        return;
    }
    if (L->close_step == 1 && acks_first) {
        L->close_step = 2;
        snprintf(buf, cap, "%s 2/4", word(L, W_CLOSE));
    } else if (L->close_step == 3 && side == L->fin_side[0] && (f & SYNACK_TCP_ACK) &&
               synack_seq_geq(seg->ack, L->fin_seq[1] + 1)) {
        L->close_step = 4;
        snprintf(buf, cap, "%s 4/4", word(L, W_CLOSE));
    } else if (L->close_step == 3 && side == L->fin_side[1] && (f & SYNACK_TCP_ACK) &&
               synack_seq_geq(seg->ack, L->fin_seq[0] + 1)) {
        snprintf(buf, cap, "%s", word(L, W_CROSSING_FIN_ACK));
    }
}

/* "dup ACK #2, zero window": the notes of tests/harness/annotate.h as words. */
static size_t ladder_notes(const struct ladder *L, const struct annotated *x, char *out, size_t cap)
{
    static const struct {
        unsigned bit;
        enum ladder_word w;
    } notes[] = {
        {NOTE_RETRANSMISSION, W_RETRANSMISSION}, {NOTE_ZERO_WINDOW, W_ZERO_WINDOW},
        {NOTE_WINDOW_UPDATE, W_WINDOW_UPDATE},   {NOTE_WINDOW_PROBE, W_WINDOW_PROBE},
        {NOTE_KEEPALIVE, W_KEEPALIVE},           {NOTE_FROM_TIME_WAIT, W_SENT_IN_TIME_WAIT},
        {NOTE_FILLS_WINDOW, W_FILLS_WINDOW},
    };
    size_t n = 0;
    out[0] = 0;
    if (x->notes & NOTE_DUP_ACK)
        n += (size_t)snprintf(out, cap, "%s #%u", word(L, W_DUP_ACK), x->dup_ack);
    for (size_t i = 0; i < sizeof notes / sizeof notes[0]; i++)
        if ((x->notes & notes[i].bit) && n < cap)
            n += (size_t)snprintf(out + n, cap - n, "%s%s", n ? ", " : "", word(L, notes[i].w));
    return n < cap ? n : cap - 1;
}

/* "handshake 1/3; mss 1460, wscale 7, sackOK, TS", "dup ACK #2; SACK 2897-4345", ... */
static void ladder_label(struct ladder *L, const struct annotated *x, char *buf, size_t cap)
{
    char step[64] = "", notes[128], opts[96];
    if (!label_open(L, x->side, &x->seg, step, sizeof step))
        label_close(L, x->side, &x->seg, step, sizeof step);
    ladder_notes(L, x, notes, sizeof notes);
    bool bare_ack = x->seg.flags == SYNACK_TCP_ACK && x->seg.payload_len == 0;
    if (L->edges && bare_ack && !step[0]) {
        size_t n = strlen(notes);
        snprintf(notes + n, sizeof notes - n, "%s%s [%u, %u)", n ? ", " : "", word(L, W_WINDOW),
                 x->rel_ack, x->rel_edge);
    }
    annotate_options(&L->a, x, opts, sizeof opts);
    size_t n = 0;
    buf[0] = 0;
    const char *parts[] = {step, notes, opts};
    for (size_t i = 0; i < 3; i++)
        if (parts[i][0] && n < cap)
            n += (size_t)snprintf(buf + n, cap - n, "%s%s", n ? "; " : "", parts[i]);
}

/* One line of the ladder at time t (`line` may be NULL when L->quiet: only counted). */
static void ladder_emit(struct ladder *L, synack_time_t t, const char *line)
{
    if (t < L->last_t) t = L->last_t; /* a listen's STATE event carries no time */
    L->last_t = t;
    L->total++;
    if (L->quiet) return;
    if (L->bar && L->total <= LADDER_HEAD) progress_end(L->bar); /* the line goes above it */
    if (L->total == 1) { /* the header comes with the first line, not before an error */
        char c[SYNACK_ADDR_STRLEN + 16], s[SYNACK_ADDR_STRLEN + 16], a[SYNACK_ADDR_STRLEN];
        struct synack_addr ca = scenario_addr(L->ipv6, false), sa = scenario_addr(L->ipv6, true);
        synack_addr_format(&ca, a, sizeof a);
        snprintf(c, sizeof c, " %s %s", word(L, W_CLIENT), a);
        synack_addr_format(&sa, a, sizeof a);
        snprintf(s, sizeof s, "%s %s ", word(L, W_SERVER), a);
        char head[2][SYNACK_ADDR_STRLEN + 80];
        pad_columns(head[0], sizeof head[0], c, ARROW_WIDTH, false);
        pad_columns(head[1], sizeof head[1], s, ARROW_WIDTH, true);
        pad_columns(a, sizeof a, word(L, W_TIME_MS), 10, true);
        fprintf(L->out, "%s  |%s|\n%10s  |%s|\n", a, head[0], "", head[1]);
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
        fprintf(L->out, "%10s  %*s%s %llu %s\n", "", ARROW_WIDTH / 2 - 10, "",
                word(L, W_MORE_LINES_PRE), (unsigned long long)L->elided,
                word(L, W_MORE_LINES_POST));
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
    if (L->quiet) { /* counted, never formatted: nobody prints it */
        ladder_emit(L, x.t, NULL);
        return;
    }
    if (x.kind != SYNACK_SIM_SENT) {
        enum ladder_word kind = x.kind == SYNACK_SIM_LOST      ? W_LOST
                                : x.kind == SYNACK_SIM_DROPPED ? W_DROPPED
                                                               : W_QUEUE_FULL;
        snprintf(line, sizeof line, "|%*s^ %s%s %llu %s", x.side == 0 ? 3 : ARROW_WIDTH - 29, "",
                 word(L, kind), word(L, W_ON_THE_WAY_PRE), (unsigned long long)x.number,
                 word(L, W_ON_THE_WAY_POST));
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
    static const enum ladder_word causes[] = {
        [CAUSE_CONNECT] = W_CAUSE_CONNECT,
        [CAUSE_LISTEN] = W_CAUSE_LISTEN,
        [CAUSE_LISTENER_CLOSES] = W_CAUSE_LISTENER_CLOSES,
        [CAUSE_APP_CLOSES] = W_CAUSE_APP_CLOSES,
        [CAUSE_ABORT] = W_CAUSE_ABORT,
        [CAUSE_2MSL] = W_CAUSE_2MSL,
    };
    char cause[64] = "", text[160], flags[16];
    uint8_t arrived = 0;
    enum annotate_cause c = annotator_state(&L->a, s, from, to, t, &arrived);
    if (!L->states) return;
    if (c == CAUSE_ARRIVING) {
        synack_format_tcp_flags(flags, sizeof flags, arrived);
        snprintf(cause, sizeof cause, "%s %s%s", word(L, W_CAUSE_ARRIVING_PRE), flags,
                 word(L, W_CAUSE_ARRIVING_POST));
    } else if (c != CAUSE_NONE) {
        snprintf(cause, sizeof cause, "%s", word(L, causes[c]));
    }
    snprintf(text, sizeof text, "%s %s -> %s%s%s%s", word(L, s == 0 ? W_CLIENT : W_SERVER),
             synack_state_name(from), synack_state_name(to), cause[0] ? " (" : "", cause,
             cause[0] ? ")" : "");
    ladder_note(L, s, t, text);
}

void ladder_note(struct ladder *L, int side, synack_time_t t, const char *text)
{
    char line[240], padded[200];
    pad_columns(padded, sizeof padded, text, ARROW_WIDTH - 2, side != 0);
    if (side == 0)
        snprintf(line, sizeof line, "|  %s|", padded);
    else
        snprintf(line, sizeof line, "|%s  |", padded);
    ladder_emit(L, t, line);
}

void ladder_legend(bool zh)
{
    fputs(ladder_words[W_LEGEND][zh ? 1 : 0], stdout);
}

void ladder_call(void *ctx, char side, const char *call, int rc, synack_time_t t)
{
    struct ladder *L = ctx;
    char text[160];
    bool eof = rc == 0 && strcmp(call, "recv()") == 0;
    const char *who = word(L, side == 'c' ? W_CLIENT : W_SERVER);
    if (rc >= 0)
        snprintf(text, sizeof text, "%s %s = %d%s%s", who, call, rc, eof ? ": " : "",
                 eof ? word(L, W_END_OF_STREAM) : "");
    else
        snprintf(text, sizeof text, "%s %s: %s", who, call,
                 rc == SYNACK_ERR_ADDRINUSE ? "EADDRINUSE" : synack_strerror(rc));
    ladder_note(L, side == 'c' ? 0 : 1, t, text);
}
