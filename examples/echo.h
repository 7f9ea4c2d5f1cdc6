/*
 * An echo server over any synack stack: every byte a client sends comes back to it, and
 * when the client closes its side, the server closes its own.
 *
 * It does no I/O and reads no clock. The program that runs it hands it the stack's events
 * and the time, whatever moves the packets: echo_sim.c runs it on the simulator, tun_echo.c
 * on a TUN device with the Linux kernel as the client. The same code serves both.
 */
#ifndef ECHO_H
#define ECHO_H

#include <stdint.h>

#include <synack/synack.h>

struct echo_server;

/* Listens on `port` of every address of `stack` and serves up to 16 connections at once
 * (more are refused with a RST). Returns 0 or a negative SYNACK_ERR_*. */
int echo_server_new(struct echo_server **out, struct synack_stack *stack, uint16_t port);

/* Hands the server one event of its stack (synack_stack_next_event): it accepts, reads,
 * echoes and closes as the event allows. */
void echo_server_on_event(struct echo_server *s, const struct synack_event *ev, synack_time_t now);

/* Bytes echoed so far, over every connection. */
uint64_t echo_server_bytes(const struct echo_server *s);

/* Resets the connections still open, closes the listener and frees the server. */
void echo_server_free(struct echo_server *s, synack_time_t now);

#endif
