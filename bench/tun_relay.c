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
 *   counters to stderr (also after a read error).
 *
 *   SIGINT and SIGTERM are blocked from the start and taken from a signalfd watched by
 *   the same epoll as the devices, so one that arrives at any moment (before the first
 *   wait, or while packets are being moved) ends the next wait: none is missed. A device
 *   is read at most RELAY_BATCH times per wake-up, so a busy one cannot delay that.
 *
 *   Exit status: 0 after SIGINT or SIGTERM; 1 on a failure to open a device, epoll or the
 *   signalfd, or when a device fails persistently (a read error other than EAGAIN, or an
 *   error or hang-up epoll reports with nothing to read: the device was detached or
 *   deleted), rather than spinning on it; 2 on bad usage.
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
#include <sys/signalfd.h>
#include <unistd.h>

/* Larger than any packet a TUN device with a sane MTU hands out (IPv4 caps at 64 KiB). */
#define RELAY_BUF 65536
/* Packets read from one device per wake-up before the signalfd is looked at again. */
#define RELAY_BATCH 64
/* epoll data of the signalfd (the devices are 0 and 1). */
#define RELAY_SIGNAL 2u

struct relay_side {
    const char *ifname;
    int fd;
    uint64_t packets; /* packets read from this device and written to the other */
    uint64_t bytes;
    uint64_t write_errors; /* packets the other device refused (dropped) */
};

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

/* Moves up to RELAY_BATCH packets `from` has ready to `to`, one read and one write each.
 * A refused write drops that packet, as a wire would. Returns 1 when `from` has nothing
 * more (EAGAIN), 0 when the batch ended first, -1 on a read error other than EAGAIN or
 * EINTR (reported on stderr): the caller stops, since epoll would report it again. */
static int relay_drain(struct relay_side *from, const struct relay_side *to, uint8_t *buf)
{
    for (int k = 0; k < RELAY_BATCH; k++) {
        ssize_t n = read(from->fd, buf, RELAY_BUF);
        if (n < 0 && (errno == EAGAIN || errno == EWOULDBLOCK)) return 1;
        if (n < 0 && errno == EINTR) continue;
        if (n <= 0) {
            fprintf(stderr, "tun_relay: read from %s: %s\n", from->ifname,
                    n < 0 ? strerror(errno) : "end of file");
            return -1;
        }
        if (write(to->fd, buf, (size_t)n) != n) {
            from->write_errors++;
            continue;
        }
        from->packets++;
        from->bytes += (uint64_t)n;
    }
    return 0;
}

/* Relays until a signal arrives on `sfd` (returns 0) or a device fails (returns 1). */
static int relay_run(struct relay_side side[2], int sfd)
{
    uint8_t buf[RELAY_BUF];
    int ep = epoll_create1(EPOLL_CLOEXEC);
    if (ep < 0) {
        fprintf(stderr, "tun_relay: epoll_create1: %s\n", strerror(errno));
        return 1;
    }
    int fds[3] = {side[0].fd, side[1].fd, sfd};
    for (uint32_t i = 0; i < 3; i++) {
        struct epoll_event ev = {.events = EPOLLIN, .data.u32 = i};
        if (epoll_ctl(ep, EPOLL_CTL_ADD, fds[i], &ev) < 0) {
            fprintf(stderr, "tun_relay: epoll_ctl: %s\n", strerror(errno));
            close(ep);
            return 1;
        }
    }
    int rc = -1; /* -1: still relaying */
    while (rc < 0) {
        struct epoll_event evs[3];
        int n = epoll_wait(ep, evs, 3, -1);
        if (n < 0) {
            if (errno == EINTR) continue; /* a signal that is not blocked (SIGSTOP/CONT) */
            fprintf(stderr, "tun_relay: epoll_wait: %s\n", strerror(errno));
            rc = 1;
            break;
        }
        for (int k = 0; k < n && rc < 0; k++) {
            uint32_t i = evs[k].data.u32;
            if (i == RELAY_SIGNAL) {
                struct signalfd_siginfo si;
                if (read(sfd, &si, sizeof si) == (ssize_t)sizeof si)
                    fprintf(stderr, "tun_relay: %s: stopping\n", strsignal((int)si.ssi_signo));
                rc = 0;
                break;
            }
            int d = relay_drain(&side[i], &side[1 - i], buf);
            if (d < 0) {
                rc = 1;
            } else if (d > 0 && (evs[k].events & (EPOLLERR | EPOLLHUP))) {
                /* Nothing to read, yet an error or hang-up: it would be reported again. */
                fprintf(stderr, "tun_relay: %s reports %s\n", side[i].ifname,
                        (evs[k].events & EPOLLERR) ? "an error" : "a hang-up");
                rc = 1;
            }
        }
    }
    close(ep);
    return rc;
}

int main(int argc, char **argv)
{
    if (argc != 3 || strcmp(argv[1], argv[2]) == 0) {
        fprintf(stderr, "usage: tun_relay IFNAME_A IFNAME_B (two different names)\n");
        return 2;
    }
    /* Blocked before anything else, so a signal sent at any time waits in the signalfd. */
    sigset_t mask;
    sigemptyset(&mask);
    sigaddset(&mask, SIGINT);
    sigaddset(&mask, SIGTERM);
    if (sigprocmask(SIG_BLOCK, &mask, NULL) < 0) {
        fprintf(stderr, "tun_relay: sigprocmask: %s\n", strerror(errno));
        return 1;
    }
    int sfd = signalfd(-1, &mask, SFD_NONBLOCK | SFD_CLOEXEC);
    if (sfd < 0) {
        fprintf(stderr, "tun_relay: signalfd: %s\n", strerror(errno));
        return 1;
    }

    struct relay_side side[2] = {{.ifname = argv[1], .fd = -1}, {.ifname = argv[2], .fd = -1}};
    int rc = 1, ran = 0;
    side[0].fd = relay_tun_open(side[0].ifname);
    if (side[0].fd >= 0) side[1].fd = relay_tun_open(side[1].ifname);
    if (side[1].fd >= 0) {
        rc = relay_run(side, sfd);
        ran = 1;
    }
    for (int i = 0; i < 2; i++) {
        if (side[i].fd >= 0) close(side[i].fd);
    }
    close(sfd);
    if (ran)
        fprintf(stderr,
                "tun_relay: %s->%s %llu packets %llu bytes %llu dropped; "
                "%s->%s %llu packets %llu bytes %llu dropped\n",
                side[0].ifname, side[1].ifname, (unsigned long long)side[0].packets,
                (unsigned long long)side[0].bytes, (unsigned long long)side[0].write_errors,
                side[1].ifname, side[0].ifname, (unsigned long long)side[1].packets,
                (unsigned long long)side[1].bytes, (unsigned long long)side[1].write_errors);
    return rc;
}
