/* The steering program of a multi-queue TUN device (synack_tun_open_queues). */
#ifndef SYNACK_TUN_STEER_BPF_H
#define SYNACK_TUN_STEER_BPF_H

#include <stddef.h>

/* Loads a socket-filter BPF program that returns, for each packet the kernel sends to the
 * device, the queue synack_flow_queue_xor gives its flow among `queues`. The program's
 * descriptor, or -1 with a sentence in `err`. */
int tun_steer_program(unsigned queues, char *err, size_t errcap);

#endif
