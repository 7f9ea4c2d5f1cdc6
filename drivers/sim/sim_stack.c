/* A synack stack as a simulator node. In its own file so that programs using only fake
 * nodes (the simulator's own tests) do not pull the core in from the static library. */
#include "synack/link.h"

static int stack_node_input(void *ctx, const uint8_t *pkt, size_t len, synack_time_t now)
{
    return synack_stack_input(ctx, pkt, len, now);
}

static synack_ssize stack_node_output(void *ctx, uint8_t *buf, size_t cap, synack_time_t now)
{
    return synack_stack_output(ctx, buf, cap, now);
}

static synack_time_t stack_node_next_deadline(void *ctx)
{
    return synack_stack_next_deadline(ctx);
}

static void stack_node_handle_timers(void *ctx, synack_time_t now)
{
    synack_stack_handle_timers(ctx, now);
}

static size_t stack_node_addrs(void *ctx, struct synack_addr *out, size_t cap)
{
    return synack_stack_addrs(ctx, out, cap);
}

int synack_sim_add_stack(struct synack_sim *sim, struct synack_stack *stack)
{
    static const struct synack_sim_node_ops stack_node_ops = {
        .input = stack_node_input,
        .output = stack_node_output,
        .next_deadline = stack_node_next_deadline,
        .handle_timers = stack_node_handle_timers,
        .addrs = stack_node_addrs,
    };
    if (stack == NULL) return SYNACK_ERR_INVAL;
    return synack_sim_add_node(sim, &stack_node_ops, stack);
}
