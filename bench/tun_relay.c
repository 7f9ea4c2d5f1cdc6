/*
 * tun_relay: the minimal userspace relay joining two TUN devices, the baseline of
 * bench/tun.sh. Every packet read from one device is written to the other, both ways:
 * one read() and one write() per packet, woken by epoll, nothing else done to it. The
 * kernel's TCP on each side then runs over a path shaped like synack's (a TUN device
 * and a process in between), so the ratio synack/kernel measures the stack, not the
 * path.
 *
 * Usage: tun_relay IFNAME_A IFNAME_B
 *   Creates (or attaches) both devices with IFF_TUN | IFF_NO_PI in the caller's network
 *   namespace and relays until SIGINT or SIGTERM. It configures nothing: the caller
 *   moves the devices where it wants (`ip link set IF netns NS`; the descriptors stay
 *   attached), gives them addresses and brings them up. On exit it prints one line of
 *   counters to stderr. Exit status: 0, 1 on a failure to open a device or epoll, 2 on
 *   bad usage.
 */
#include <errno.h>
#include <fcntl.h>
#include <linux/if.h>
#include <linux/if_tun.h>
#include <signal.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/ioctl.h>
#include <unistd.h>

/* Larger than any packet a TUN device with a sane MTU hands out (IPv4 caps at 64 KiB). */
#define RELAY_BUF 65536

struct relay_side {
    const char *ifname;
    int fd;
    uint64_t packets; /* packets read from this device and written to the other */
    uint64_t bytes;
    uint64_t write_errors; /* packets the other device refused (dropped) */
};

static volatile sig_atomic_t relay_stop;

static void relay_on_signal(int sig)
{
    (void)sig;
    relay_stop = 1;
}

/* Opens /dev/net/tun as `ifname` (bare packets, non-blocking). Returns the fd or -1. */
static int relay_tun_open(const char *ifname)
{
    struct ifreq ifr;
    if (strlen(ifname) >= sizeof ifr.ifr_name) {
        fprintf(stderr, "tun_relay: device name too long: %s\n", ifname);
        return -1;
    }
    int fd = open("/dev/net/tun", O_RDWR | O_NONBLOCK | O_CLOEXEC);
    if (fd < 0) {
        fprintf(stderr, "tun_relay: cannot open /dev/net/tun: %s\n", strerror(errno));
        return -1;
    }
    memset(&ifr, 0, sizeof ifr);
    ifr.ifr_flags = IFF_TUN | IFF_NO_PI;
    memcpy(ifr.ifr_name, ifname, strlen(ifname));
    if (ioctl(fd, TUNSETIFF, &ifr) < 0) {
        fprintf(stderr, "tun_relay: cannot create %s: %s\n", ifname, strerror(errno));
        close(fd);
        return -1;
    }
    return fd;
}

/* Moves every packet `from` has ready to `to`, one read and one write each, until the
 * device has nothing more. A refused write drops that packet, as a wire would. */
static void relay_drain(struct relay_side *from, const struct relay_side *to, uint8_t *buf)
{
    while (!relay_stop) {
        ssize_t n = read(from->fd, buf, RELAY_BUF);
        if (n <= 0) return; /* EAGAIN: drained; other errors: epoll reports them again */
        if (write(to->fd, buf, (size_t)n) != n) {
            from->write_errors++;
            continue;
        }
        from->packets++;
        from->bytes += (uint64_t)n;
    }
}

static int relay_run(struct relay_side side[2])
{
    uint8_t buf[RELAY_BUF];
    int ep = epoll_create1(EPOLL_CLOEXEC);
    if (ep < 0) {
        fprintf(stderr, "tun_relay: epoll_create1: %s\n", strerror(errno));
        return 1;
    }
    for (int i = 0; i < 2; i++) {
        struct epoll_event ev = {.events = EPOLLIN, .data.u32 = (uint32_t)i};
        if (epoll_ctl(ep, EPOLL_CTL_ADD, side[i].fd, &ev) < 0) {
            fprintf(stderr, "tun_relay: epoll_ctl: %s\n", strerror(errno));
            close(ep);
            return 1;
        }
    }
    while (!relay_stop) {
        struct epoll_event evs[2];
        int n = epoll_wait(ep, evs, 2, -1);
        if (n < 0 && errno != EINTR) {
            fprintf(stderr, "tun_relay: epoll_wait: %s\n", strerror(errno));
            close(ep);
            return 1;
        }
        for (int k = 0; k < n; k++) {
            unsigned i = evs[k].data.u32;
            relay_drain(&side[i], &side[1 - i], buf);
        }
    }
    close(ep);
    return 0;
}

int main(int argc, char **argv)
{
    if (argc != 3 || strcmp(argv[1], argv[2]) == 0) {
        fprintf(stderr, "usage: tun_relay IFNAME_A IFNAME_B (two different names)\n");
        return 2;
    }
    struct sigaction sa;
    memset(&sa, 0, sizeof sa);
    sa.sa_handler = relay_on_signal; /* no SA_RESTART: epoll_wait returns EINTR */
    sigemptyset(&sa.sa_mask);
    sigaction(SIGINT, &sa, NULL);
    sigaction(SIGTERM, &sa, NULL);

    struct relay_side side[2] = {{.ifname = argv[1], .fd = -1}, {.ifname = argv[2], .fd = -1}};
    int rc = 1;
    side[0].fd = relay_tun_open(side[0].ifname);
    if (side[0].fd >= 0) side[1].fd = relay_tun_open(side[1].ifname);
    if (side[1].fd >= 0) rc = relay_run(side);
    for (int i = 0; i < 2; i++) {
        if (side[i].fd >= 0) close(side[i].fd);
    }
    if (rc == 0)
        fprintf(stderr,
                "tun_relay: %s->%s %llu packets %llu bytes %llu dropped; "
                "%s->%s %llu packets %llu bytes %llu dropped\n",
                side[0].ifname, side[1].ifname, (unsigned long long)side[0].packets,
                (unsigned long long)side[0].bytes, (unsigned long long)side[0].write_errors,
                side[1].ifname, side[0].ifname, (unsigned long long)side[1].packets,
                (unsigned long long)side[1].bytes, (unsigned long long)side[1].write_errors);
    return rc;
}
