/*
 * The echo server of echo.c on a TUN device: the Linux kernel is the client. synack
 * creates the device, gives the kernel's side 198.18.0.1/24 and takes 198.18.0.2, and
 * serves port 7 until it is stopped (Ctrl-C). It needs root or CAP_NET_ADMIN; a network
 * namespace keeps the host untouched:
 *
 *   ip netns add echo
 *   ip netns exec echo ./tun_echo &                     # the device is syn0
 *   echo 'hello, synack' | ip netns exec echo nc -N 198.18.0.2 7
 *   ip netns exec echo ping -c 1 198.18.0.2             # synack answers ICMP echo too
 *   kill %1; ip netns del echo
 *
 *   tun_echo [IFNAME]
 *
 * Unlike echo_sim.c, time is real here: the event loop of the drivers reads the clock,
 * waits on the device and the stack's next deadline, and calls `on_turn` each time round.
 */
#include <stdio.h>
#include <string.h>
#include <sys/random.h>

#include <synack/link.h>

#include "echo.h"

struct app {
    struct synack_stack *stack;
    struct echo_server *server;
};

/* The event loop's hook, once per turn: the stack's events go to the server. */
static void on_turn(void *ctx, synack_time_t now)
{
    struct app *app = ctx;
    struct synack_event ev;
    while (synack_stack_next_event(app->stack, &ev) == 0)
        echo_server_on_event(app->server, &ev, now);
}

static int fail(const char *what, int rc)
{
    fprintf(stderr, "tun_echo: %s: %s\n", what, synack_strerror(rc));
    return 1;
}

int main(int argc, char **argv)
{
    const char *ifname = argc > 1 ? argv[1] : "syn0";
    setvbuf(stdout, NULL, _IOLBF, 0); /* a line at a time, even into a file */

    /* The stack's address, and secrets drawn at random: the ISN key (RFC 6528) and the
     * seed of the ephemeral ports must not be guessable on a real network. */
    struct synack_config cfg;
    synack_config_default(&cfg);
    struct synack_addr me;
    synack_addr_parse("198.18.0.2", &me);
    synack_config_add_addr(&cfg, &me);
    if (getrandom(cfg.isn_secret, sizeof cfg.isn_secret, 0) != sizeof cfg.isn_secret ||
        getrandom(&cfg.seed, sizeof cfg.seed, 0) != sizeof cfg.seed)
        return fail("getrandom", SYNACK_ERR_IO);

    /* The link: a TUN device, its kernel side configured and up. */
    struct synack_tun_config tun = {.ifname = ifname, .mtu = 1500};
    synack_addr_parse("198.18.0.1", &tun.host_addrs[0].addr);
    tun.host_addrs[0].prefix = 24;
    struct synack_link *link;
    char err[256];
    int rc = synack_tun_open(&link, &tun, err, sizeof err);
    if (rc < 0) {
        fprintf(stderr, "tun_echo: %s\n", err);
        return 1;
    }
    cfg.mtu = (uint16_t)synack_link_mtu(link);

    /* The stack, the server on it, and the loop that joins the stack to the link. */
    struct app app = {0};
    struct synack_loop *loop = NULL;
    if ((rc = synack_stack_new(&app.stack, &cfg)) < 0 ||
        (rc = echo_server_new(&app.server, app.stack, 7)) < 0 ||
        (rc = synack_loop_new(&loop, app.stack, link)) < 0) {
        fail("setting up", rc);
    } else {
        printf("tun_echo: echo on 198.18.0.2 port 7, device %s (the kernel: 198.18.0.1)\n",
               synack_tun_name(link));
        synack_loop_set_turn(loop, on_turn, &app);
        rc = synack_loop_run(loop); /* returns only when the device fails */
        fail("event loop", rc);
    }
    synack_time_t now = loop ? synack_loop_now(loop) : 0;
    synack_loop_free(loop);
    echo_server_free(app.server, now);
    synack_stack_free(app.stack);
    synack_link_free(link);
    return 1;
}
