/* Capture files through libpcap: a "dead" handle stands in for a real interface so the
 * dumper can write a file of raw IPv4 packets stamped with virtual time. */
#include "synack/link.h"

#include <pcap/pcap.h>
#include <stdio.h>
#include <stdlib.h>

/* libpcap wants a snapshot length; nothing we write is longer than an IPv4 packet. */
#define PCAP_SNAPLEN 65535

struct synack_pcap {
    pcap_t *dead;          /* gives the dumper its link type and timestamp precision */
    pcap_dumper_t *dumper; /* the open file */
};

static void pcap_set_error(char *err, size_t errcap, const char *what, const char *path,
                           const char *why)
{
    if (err != NULL && errcap > 0) snprintf(err, errcap, "%s %s: %s", what, path, why);
}

int synack_pcap_open(struct synack_pcap **out, const char *path, char *err, size_t errcap)
{
    if (out == NULL || path == NULL) return SYNACK_ERR_INVAL;
    *out = NULL;
    struct synack_pcap *p = calloc(1, sizeof(*p));
    if (p == NULL) return SYNACK_ERR_NOMEM;
    /* DLT_RAW is written to the file as LINKTYPE_RAW (101): bare IPv4 or IPv6, what the core
     * emits. Nanosecond precision keeps serialization steps apart in the file. */
    p->dead =
        pcap_open_dead_with_tstamp_precision(DLT_RAW, PCAP_SNAPLEN, PCAP_TSTAMP_PRECISION_NANO);
    if (p->dead == NULL) {
        free(p);
        pcap_set_error(err, errcap, "cannot capture to", path, "out of memory");
        return SYNACK_ERR_NOMEM;
    }
    p->dumper = pcap_dump_open(p->dead, path);
    if (p->dumper == NULL) {
        /* libpcap's message already names the file: "PATH: No such file or directory". */
        if (err != NULL && errcap > 0)
            snprintf(err, errcap, "cannot create capture file %s", pcap_geterr(p->dead));
        pcap_close(p->dead);
        free(p);
        return SYNACK_ERR_IO;
    }
    *out = p;
    return 0;
}

int synack_pcap_write(struct synack_pcap *p, const uint8_t *pkt, size_t len, synack_time_t t)
{
    if (p == NULL || pkt == NULL || len == 0 || len > PCAP_SNAPLEN) return SYNACK_ERR_INVAL;
    struct pcap_pkthdr hdr = {0};
    hdr.ts.tv_sec = (time_t)(t / 1000000000u);
    /* With nanosecond precision the "usec" field carries nanoseconds. */
    hdr.ts.tv_usec = (suseconds_t)(t % 1000000000u);
    hdr.caplen = (bpf_u_int32)len;
    hdr.len = (bpf_u_int32)len;
    pcap_dump((u_char *)p->dumper, &hdr, pkt);
    /* pcap_dump() cannot report failure; the stream remembers it. */
    if (ferror(pcap_dump_file(p->dumper))) return SYNACK_ERR_IO;
    return 0;
}

int synack_pcap_close(struct synack_pcap *p)
{
    if (p == NULL) return 0;
    int rc = 0;
    if (pcap_dump_flush(p->dumper) != 0 || ferror(pcap_dump_file(p->dumper))) rc = SYNACK_ERR_IO;
    pcap_dump_close(p->dumper);
    pcap_close(p->dead);
    free(p);
    return rc;
}
