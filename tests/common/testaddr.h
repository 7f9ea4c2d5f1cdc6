/* Endpoints for tests and fuzz targets, written the way the IPv4 tests think of them. */
#ifndef SYNACK_TESTADDR_H
#define SYNACK_TESTADDR_H

#include <stdint.h>

#include <synack/synack.h>

/* An IPv4 endpoint from a host-order address; address 0 is "no address" (SYNACK_AF_NONE:
 * any address, as a listener or a connect's local side takes it). */
static inline struct synack_endpoint synack_test_ep(uint32_t v4, uint16_t port)
{
    struct synack_endpoint e = {.port = port};
    if (v4) e.addr = synack_addr_v4(v4);
    return e;
}

/* The same as an lvalue, so a call can take its address: &SYNACK_TEST_EP(FIX_REMOTE, 80). */
#define SYNACK_TEST_EP(v4, port)                                                                   \
    (*(struct synack_endpoint[1]){synack_test_ep((v4), (uint16_t)(port))})

#endif
