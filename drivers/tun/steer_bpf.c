/* The steering program of a multi-queue TUN device, written as BPF instructions: for each
 * packet the kernel is about to hand the device, the queue that synack_flow_queue_xor
 * (src/wire/steer.c) gives its flow, so the stacks, which choose their ephemeral ports by
 * that same function (steer_hash SYNACK_STEER_XOR), receive every packet of their own
 * connections, and a connection the kernel opens stays on one queue whatever hash its
 * socket sends with.
 *
 * The program reads the packet with the classic packet loads (LD_ABS, LD_IND: the device
 * has no link-layer header, so offset 0 is the IP header; a load past the end ends the
 * program with 0). IPv4: the addresses at 12 and 16; ports after the header (IHL words)
 * unless it is a fragment (MF or an offset), for TCP and UDP. IPv6: the eight address words
 * at 8..39; ports at 40 when the Next Header is TCP or UDP (any extension header: addresses
 * alone). An ICMP or ICMPv6 error counts the addresses and ports of the packet it quotes
 * instead, so that it reaches the stack of that flow (a path MTU message above all). Then
 * h * 0x9e3779b1, the top 16 bits, modulo the queues. Anything not IP: queue 0.
 */
#include "tun/steer_bpf.h"

#include <errno.h>
#include <linux/bpf.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/syscall.h>
#include <unistd.h>

#define STEER_MAX_INSNS 160
#define STEER_LOG_SIZE 65536

struct prog {
    struct bpf_insn insn[STEER_MAX_INSNS];
    unsigned n;
};

static void emit(struct prog *p, uint8_t code, uint8_t dst, uint8_t src, int16_t off, int32_t imm)
{
    if (p->n == STEER_MAX_INSNS) return; /* the caller checks p->n against what it wrote */
    struct bpf_insn *i = &p->insn[p->n++];
    memset(i, 0, sizeof *i);
    i->code = code;
    i->dst_reg = dst & 0xf;
    i->src_reg = src & 0xf;
    i->off = off;
    i->imm = imm;
}

/* r0 = the packet's byte, half-word or word at `off` (host order). */
static void load_abs(struct prog *p, uint8_t size, int32_t off)
{
    emit(p, BPF_LD | BPF_ABS | size, 0, 0, 0, off);
}

/* r7 ^= r0 */
static void fold(struct prog *p)
{
    emit(p, BPF_ALU64 | BPF_XOR | BPF_X, 7, 0, 0, 0);
}

/* A forward jump whose offset is set when its target is reached (patch). */
static unsigned jump(struct prog *p, uint8_t op, uint8_t reg, int32_t imm)
{
    emit(p, BPF_JMP | op | BPF_K, reg, 0, 0, imm);
    return p->n - 1;
}

static void patch(struct prog *p, unsigned at)
{
    p->insn[at].off = (int16_t)(p->n - at - 1);
}

/* Jumps waiting for one label, patched when it is reached. */
struct label {
    unsigned at[16], n;
};

static void jump_to(struct prog *p, struct label *l, uint8_t op, uint8_t reg, int32_t imm)
{
    unsigned at = jump(p, op, reg, imm);
    if (l->n < sizeof l->at / sizeof l->at[0]) l->at[l->n++] = at;
}

static void place(struct prog *p, struct label *l)
{
    for (unsigned i = 0; i < l->n; i++)
        patch(p, l->at[i]);
    l->n = 0;
}

/* r0 = the packet's byte, half-word or word at r8 + off. */
static void load_ind(struct prog *p, uint8_t size, int32_t off)
{
    emit(p, BPF_LD | BPF_IND | size, 0, 8, 0, off);
}

static void build(struct prog *p, unsigned queues)
{
    enum { R0 = 0, R1 = 1, R6 = 6, R7 = 7, R8 = 8 };
    struct label v4 = {.n = 0}, v6 = {.n = 0}, ports4 = {.n = 0}, quote4 = {.n = 0},
                 qports4 = {.n = 0}, ports6 = {.n = 0}, qports6 = {.n = 0}, mix = {.n = 0};
    emit(p, BPF_ALU64 | BPF_MOV | BPF_X, R6, R1, 0, 0); /* the packet loads use r6 */
    emit(p, BPF_ALU64 | BPF_MOV | BPF_K, R7, 0, 0, 0);
    load_abs(p, BPF_B, 0);
    emit(p, BPF_ALU64 | BPF_MOV | BPF_X, R8, R0, 0, 0); /* version and IHL */
    emit(p, BPF_ALU64 | BPF_RSH | BPF_K, R0, 0, 0, 4);
    jump_to(p, &v4, BPF_JEQ, R0, 4);
    jump_to(p, &v6, BPF_JEQ, R0, 6);
    emit(p, BPF_ALU64 | BPF_MOV | BPF_K, R0, 0, 0, 0);
    emit(p, BPF_JMP | BPF_EXIT, 0, 0, 0, 0);

    /* IPv4: r8 = IHL * 4, the addresses, then ports unless a fragment. */
    place(p, &v4);
    emit(p, BPF_ALU64 | BPF_AND | BPF_K, R8, 0, 0, 0xf);
    emit(p, BPF_ALU64 | BPF_LSH | BPF_K, R8, 0, 0, 2);
    load_abs(p, BPF_W, 12);
    fold(p);
    load_abs(p, BPF_W, 16);
    fold(p);
    load_abs(p, BPF_H, 6);
    emit(p, BPF_ALU64 | BPF_AND | BPF_K, R0, 0, 0, 0x3fff); /* MF and the offset */
    jump_to(p, &mix, BPF_JNE, R0, 0);
    load_abs(p, BPF_B, 9);
    jump_to(p, &ports4, BPF_JEQ, R0, 6);
    jump_to(p, &ports4, BPF_JEQ, R0, 17);
    jump_to(p, &mix, BPF_JNE, R0, 1);
    /* ICMP (RFC 792): an error (unreachable, source quench, redirect, time exceeded,
     * parameter problem) goes by the flow it quotes, 8 bytes after the ICMP header. */
    load_ind(p, BPF_B, 0);
    jump_to(p, &quote4, BPF_JEQ, R0, 3);
    jump_to(p, &quote4, BPF_JEQ, R0, 4);
    jump_to(p, &quote4, BPF_JEQ, R0, 5);
    jump_to(p, &quote4, BPF_JEQ, R0, 11);
    jump_to(p, &mix, BPF_JNE, R0, 12);
    place(p, &quote4);
    emit(p, BPF_ALU64 | BPF_MOV | BPF_K, R7, 0, 0, 0);
    load_ind(p, BPF_W, 8 + 12);
    fold(p);
    load_ind(p, BPF_W, 8 + 16);
    fold(p);
    load_ind(p, BPF_H, 8 + 6);
    emit(p, BPF_ALU64 | BPF_AND | BPF_K, R0, 0, 0, 0x3fff);
    jump_to(p, &mix, BPF_JNE, R0, 0);
    load_ind(p, BPF_B, 8 + 9);
    jump_to(p, &qports4, BPF_JEQ, R0, 6);
    jump_to(p, &mix, BPF_JNE, R0, 17);
    place(p, &qports4);
    load_ind(p, BPF_B, 8); /* the quoted header's IHL */
    emit(p, BPF_ALU64 | BPF_AND | BPF_K, R0, 0, 0, 0xf);
    emit(p, BPF_ALU64 | BPF_LSH | BPF_K, R0, 0, 0, 2);
    emit(p, BPF_ALU64 | BPF_ADD | BPF_X, R8, R0, 0, 0);
    emit(p, BPF_ALU64 | BPF_ADD | BPF_K, R8, 0, 0, 8);
    place(p, &ports4);
    load_ind(p, BPF_H, 0);
    fold(p);
    load_ind(p, BPF_H, 2);
    fold(p);
    jump_to(p, &mix, BPF_JA, 0, 0);

    /* IPv6: the addresses, then ports after the fixed header for TCP and UDP. */
    place(p, &v6);
    for (int32_t off = 8; off < 40; off += 4) {
        load_abs(p, BPF_W, off);
        fold(p);
    }
    load_abs(p, BPF_B, 6);
    jump_to(p, &ports6, BPF_JEQ, R0, 6);
    jump_to(p, &ports6, BPF_JEQ, R0, 17);
    jump_to(p, &mix, BPF_JNE, R0, 58);
    /* ICMPv6 (RFC 4443 §2.1): error types 1-4 go by the flow they quote, whose IPv6
     * header starts 8 bytes after the ICMPv6 header (at 48). */
    load_abs(p, BPF_B, 40);
    jump_to(p, &mix, BPF_JEQ, R0, 0);
    jump_to(p, &mix, BPF_JGT, R0, 4);
    emit(p, BPF_ALU64 | BPF_MOV | BPF_K, R7, 0, 0, 0);
    for (int32_t off = 48 + 8; off < 48 + 40; off += 4) {
        load_abs(p, BPF_W, off);
        fold(p);
    }
    load_abs(p, BPF_B, 48 + 6);
    jump_to(p, &qports6, BPF_JEQ, R0, 6);
    jump_to(p, &mix, BPF_JNE, R0, 17);
    place(p, &qports6);
    load_abs(p, BPF_H, 48 + 40);
    fold(p);
    load_abs(p, BPF_H, 48 + 42);
    fold(p);
    jump_to(p, &mix, BPF_JA, 0, 0);
    place(p, &ports6);
    load_abs(p, BPF_H, 40);
    fold(p);
    load_abs(p, BPF_H, 42);
    fold(p);

    place(p, &mix);
    emit(p, BPF_ALU | BPF_MOV | BPF_X, R0, R7, 0, 0);
    emit(p, BPF_ALU | BPF_MUL | BPF_K, R0, 0, 0, (int32_t)0x9e3779b1u);
    emit(p, BPF_ALU | BPF_RSH | BPF_K, R0, 0, 0, 16);
    emit(p, BPF_ALU | BPF_MOD | BPF_K, R0, 0, 0, (int32_t)queues);
    emit(p, BPF_JMP | BPF_EXIT, 0, 0, 0, 0);
}

/* BPF_PROG_LOAD of `p`, with the verifier's log in `log` when `logcap` > 0. */
static int load(const struct prog *p, char *log, size_t logcap)
{
    union bpf_attr attr;
    memset(&attr, 0, sizeof attr);
    attr.prog_type = BPF_PROG_TYPE_SOCKET_FILTER;
    attr.insns = (uint64_t)(uintptr_t)p->insn;
    attr.insn_cnt = p->n;
    attr.license = (uint64_t)(uintptr_t) "Dual MIT/GPL";
    if (logcap > 0) {
        log[0] = '\0';
        attr.log_buf = (uint64_t)(uintptr_t)log;
        attr.log_size = (uint32_t)logcap;
        attr.log_level = 1;
    }
    return (int)syscall(SYS_bpf, BPF_PROG_LOAD, &attr, sizeof attr);
}

int tun_steer_program(unsigned queues, char *err, size_t errcap)
{
    struct prog p = {.n = 0};
    build(&p, queues ? queues : 1);
    if (p.n == STEER_MAX_INSNS) {
        if (err && errcap) snprintf(err, errcap, "the steering program is too long");
        return -1;
    }
    int fd = load(&p, NULL, 0);
    if (fd >= 0) return fd;
    int e = errno;
    /* Again with the verifier's log, to say why. */
    char *log = malloc(STEER_LOG_SIZE);
    int again = log ? load(&p, log, STEER_LOG_SIZE) : -1;
    if (again >= 0 || !log) {
        free(log);
        if (again < 0 && err && errcap)
            snprintf(err, errcap, "cannot load the multi-queue TUN steering program (bpf: %s)",
                     strerror(e));
        return again;
    }
    size_t n = strnlen(log, STEER_LOG_SIZE - 1);
    log[n] = '\0';
    while (n > 0 && (log[n - 1] == '\n' || log[n - 1] == ' '))
        log[--n] = '\0';
    /* The verifier's verdict is its last line, or the one before its statistics. */
    char *last = strrchr(log, '\n');
    if (last && strncmp(last + 1, "processed ", 10) == 0) {
        *last = '\0';
        last = strrchr(log, '\n');
    }
    if (err && errcap)
        snprintf(err, errcap, "cannot load the multi-queue TUN steering program (bpf: %s%s%s)%s",
                 strerror(e), n ? "; verifier: " : "", n ? (last ? last + 1 : log) : "",
                 e == EPERM ? ": run as root, or give the program CAP_BPF and CAP_NET_ADMIN" : "");
    free(log);
    return -1;
}
