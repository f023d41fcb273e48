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

/*
 * key: where a packet arrives; value: how to forward it (the agent's
 * action), where it leaves (the program's egress cache) and what was
 * counted, together, so that a packet costs one lookup. The agent
 * replaces the action alone and keeps the rest (a re-INVITE keeps the
 * counters).
 */
struct {
	__uint(type, BPF_MAP_TYPE_HASH);
	__uint(max_entries, SLUICE_MAX_FLOWS);
	__type(key, struct sluice_flow_key);
	__type(value, struct sluice_xdp_flow);
	__uint(pinning, LIBBPF_PIN_BY_NAME);
} flows SEC(".maps");

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

/*
 * bpf_fib_lookup's parameters, off the stack: an IPv6 packet's path goes
 * three frames deep (sluice_xdp, sluice_forward6, sluice_udp_sum), and
 * the verifier allows them 512 bytes together. Per CPU, not pinned: a
 * scratch pad, nothing kept.
 */
struct {
	__uint(type, BPF_MAP_TYPE_PERCPU_ARRAY);
	__uint(max_entries, 1);
	__type(key, __u32);
	__type(value, struct bpf_fib_lookup);
} fib_scratch SEC(".maps");

#endif /* SLUICE_BPF_MAPS_H */
