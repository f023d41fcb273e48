/* SPDX-License-Identifier: GPL-2.0-only */
/*
 * The XDP program's maps. Every map carries BTF (so bpftool prints keys and
 * values field by field) and is pinned by name under the pin root the
 * loader gives libbpf (/sys/fs/bpf/sluice by default): a restarted sluiced
 * reuses them, and live calls keep their flows and counters.
 */
#ifndef SLUICE_BPF_MAPS_H
#define SLUICE_BPF_MAPS_H

#include <linux/bpf.h>
#include <bpf/bpf_helpers.h>

#include <sluice/abi.h>

/* key: where a packet arrives; value: how to forward it. */
struct {
	__uint(type, BPF_MAP_TYPE_HASH);
	__uint(max_entries, SLUICE_MAX_FLOWS);
	__type(key, struct sluice_flow_key);
	__type(value, struct sluice_flow_action);
	__uint(pinning, LIBBPF_PIN_BY_NAME);
} flows SEC(".maps");

/*
 * A flow's statistics, in the slot its action names (stats_slot): an
 * array, so that finding them costs no second hash lookup. Kept apart from
 * flows so that replacing an action (a re-INVITE) keeps the counters. The
 * agent hands slots out, zeroed, and takes them back with the flow.
 */
struct {
	__uint(type, BPF_MAP_TYPE_ARRAY);
	__uint(max_entries, SLUICE_MAX_FLOWS);
	__type(key, __u32);
	__type(value, struct sluice_flow_stats);
	__uint(pinning, LIBBPF_PIN_BY_NAME);
} stats SEC(".maps");

/*
 * Which flow holds a slot: the agent's bookkeeping, never read by the
 * program. A slot is taken with BPF_NOEXIST, so that two writers (sluiced
 * and a sluicectl beside it) never share one.
 */
struct {
	__uint(type, BPF_MAP_TYPE_HASH);
	__uint(max_entries, SLUICE_MAX_FLOWS);
	__type(key, __u32);
	__type(value, struct sluice_flow_key);
	__uint(pinning, LIBBPF_PIN_BY_NAME);
} slot_keys SEC(".maps");

struct {
	__uint(type, BPF_MAP_TYPE_PERCPU_ARRAY);
	__uint(max_entries, SLUICE_V_MAX);
	__type(key, __u32);
	__type(value, struct sluice_verdict);
	__uint(pinning, LIBBPF_PIN_BY_NAME);
} verdicts SEC(".maps");

/*
 * The interfaces the program may redirect to: those the loader attached it
 * to (a redirect needs XDP on both ends). Key and value are the ifindex.
 * Pinned by the loader itself, not by libbpf: the kernel adds
 * BPF_F_RDONLY_PROG to every devmap, which libbpf then takes for a
 * mismatch and refuses to reuse the pinned map.
 */
#ifndef SLUICE_MAX_TX_PORTS
#define SLUICE_MAX_TX_PORTS 64
#endif
struct {
	__uint(type, BPF_MAP_TYPE_DEVMAP_HASH);
	__uint(max_entries, SLUICE_MAX_TX_PORTS);
	__type(key, __u32);
	__type(value, __u32);
} tx_ports SEC(".maps");

/* [0] = SLUICE_ABI_VERSION, written by the loader, checked on adoption. */
struct {
	__uint(type, BPF_MAP_TYPE_ARRAY);
	__uint(max_entries, 1);
	__type(key, __u32);
	__type(value, __u32);
	__uint(pinning, LIBBPF_PIN_BY_NAME);
} abi SEC(".maps");

#endif /* SLUICE_BPF_MAPS_H */
