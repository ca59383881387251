#!/usr/bin/env bash
# bench/udp-floor.sh [ROUNDS]: how much of loopback UDP's speed any
# per-packet counting in cgroup_skb programs can keep. sockperf tp (64-byte
# datagrams over loopback, as bench/overhead.sh) runs without any program,
# then with each of these attached to the root cgroup, egress and ingress,
# in alternated rounds (default 5 of FLOOR_SECS=4 s):
#   empty     the programs return at once: the hook's own cost
#   socket    bpf_sk_fullsock(), the socket's storage (created on first
#             use), two atomic adds in it: the least a per-socket count costs
#   peer      the same, and the remote address and port read from the
#             packet in place and compared with the socket's (what an
#             unconnected socket's count would need to tell peers apart)
#   trace     bin/snitch-trace as it is
#   nopacket  bin/snitch-trace --no-packet (no AF_PACKET hooks, which run
#             on every packet sent and every socket woken)
# and prints the median ratio of each against the rounds without (the
# target of issue 14 is 0.95 for snitch-trace), then, in one more run of
# each with kernel.bpf_stats_enabled, the programs' time per datagram. The two floor programs are
# built here with clang from the source below and loaded with bpftool.
# Needs root.
set -euo pipefail
rounds=${1:-5}
secs=${FLOOR_SECS:-4}
top=$(cd "$(dirname "$0")/.." && pwd)
TRACE=$top/bin/snitch-trace
[ "$(id -u)" -eq 0 ] || { echo "udp-floor: needs root (BPF)" >&2; exit 1; }
[ -x "$TRACE" ] || { echo "udp-floor: build first: make" >&2; exit 1; }
for c in sockperf bpftool clang jq; do
	command -v "$c" > /dev/null || { echo "udp-floor: $c is missing: sudo make deps" >&2; exit 1; }
done
# loadall pins the programs: the BPF file system, mounted if it is not
mountpoint -q /sys/fs/bpf || mount -t bpf bpf /sys/fs/bpf
work=$(mktemp -d)
pin=/sys/fs/bpf/snitch-udp-floor-$$	# bpffs takes no dot in a name
cg=$(awk '$3 == "cgroup2" { print $2; exit }' /proc/mounts)	# where snitch-trace attaches
[ -n "$cg" ] || { echo "udp-floor: no cgroup2 mount" >&2; exit 1; }
cleanup() {
	detach || true
	rm -rf "$pin" "$work"
	pkill -P $$ 2>/dev/null || true
}
trap cleanup EXIT

cat > "$work/floor.bpf.c" <<'EOF'
#include <linux/bpf.h>
#include <bpf/bpf_helpers.h>

char LICENSE[] SEC("license") = "Dual BSD/GPL";

#if defined(SOCKET) || defined(PEER)
#define UDP 17
struct counts { __u64 bytes, calls; __u32 peer; __u16 port, misses; };
struct {
	__uint(type, BPF_MAP_TYPE_SK_STORAGE);
	__uint(map_flags, BPF_F_NO_PREALLOC);
	__type(key, int);
	__type(value, struct counts);
} floor_socks SEC(".maps");

static __always_inline int count(struct __sk_buff *skb, int egress)
{
	struct bpf_sock *sk = skb->sk;
	struct counts *c;

	if (!sk || !(sk = bpf_sk_fullsock(sk)) || sk->protocol != UDP)
		return 1;
	c = bpf_sk_storage_get(&floor_socks, sk, 0, BPF_SK_STORAGE_GET_F_CREATE);
	if (!c)
		return 1;
#ifdef PEER
	{
		/* the remote address and port, read in place, against the
		 * one the socket's count is for (IPv4 without options) */
		void *data = (void *)(long)skb->data, *end = (void *)(long)skb->data_end;
		__u8 *ip = data;
		__u32 peer;
		__u16 port;

		if (data + 28 > end || ip[0] != 0x45)
			return 1;
		peer = egress ? *(__u32 *)(ip + 16) : *(__u32 *)(ip + 12);
		port = egress ? *(__u16 *)(ip + 22) : *(__u16 *)(ip + 20);
		if (c->peer != peer || c->port != port) {
			c->peer = peer;
			c->port = port;
			c->misses++;
		}
	}
#endif
	__sync_fetch_and_add(&c->bytes, skb->len);
	__sync_fetch_and_add(&c->calls, 1);
	return 1;
}
#else
static __always_inline int count(struct __sk_buff *skb, int egress) { return 1; }
#endif

SEC("cgroup_skb/egress")
int floor_egress(struct __sk_buff *skb) { return count(skb, 1); }

SEC("cgroup_skb/ingress")
int floor_ingress(struct __sk_buff *skb) { return count(skb, 0); }
EOF
for v in empty socket peer; do
	def=; [ "$v" != empty ] && def=-D$(echo "$v" | tr a-z A-Z)
	clang -O2 -g -target bpf $def -I/usr/include/x86_64-linux-gnu \
		-c "$work/floor.bpf.c" -o "$work/$v.o"
done

attached=
attach() {	# $1: empty, socket or peer
	mkdir -p "$pin"
	bpftool prog loadall "$work/$1.o" "$pin/$1"
	bpftool cgroup attach "$cg" egress pinned "$pin/$1/floor_egress" multi
	bpftool cgroup attach "$cg" ingress pinned "$pin/$1/floor_ingress" multi
	attached=$1
}
detach() {
	[ -n "$attached" ] || return 0
	bpftool cgroup detach "$cg" egress pinned "$pin/$attached/floor_egress"
	bpftool cgroup detach "$cg" ingress pinned "$pin/$attached/floor_ingress"
	rm -rf "${pin:?}/$attached"
	attached=
}

. "$top/bench/loopback.bash"

echo "# $(date -u +%F) $(uname -sr), $(nproc) cpus; $rounds rounds of $secs s; 64-byte UDP datagrams over loopback"
for v in empty socket peer trace nopacket; do : > "$work/$v.ratios"; done
for r in $(seq "$rounds"); do
	base=$(sockperf_udp_mbs)
	line="round $r: without $base MB/s"
	for v in empty socket peer trace nopacket; do
		if [ "$v" = trace ] || [ "$v" = nopacket ]; then
			"$TRACE" $([ "$v" = nopacket ] && echo --no-packet) > /dev/null 2> "$work/err" &
			tp=$!
			for i in $(seq 100); do grep -q 'counting TCP' "$work/err" && break; sleep 0.1; done
			with=$(sockperf_udp_mbs)
			kill -INT "$tp"; wait "$tp" || true
		else
			attach "$v"
			with=$(sockperf_udp_mbs)
			detach
		fi
		awk -v a="$with" -v b="$base" 'BEGIN { print a / b }' >> "$work/$v.ratios"
		line="$line, $v $with"
	done
	echo "$line"
done
for v in empty socket peer trace nopacket; do
	echo "$v: median ratio $(median < "$work/$v.ratios") ($(sort -g "$work/$v.ratios" | tr '\n' ' '))"
done

# per datagram, in the kernel: one more run of each with the kernel's BPF
# run-time statistics on (a clock read per run, so not in the ratios)
stats_was=$(sysctl -n kernel.bpf_stats_enabled)
sysctl -qw kernel.bpf_stats_enabled=1
for v in empty socket peer trace nopacket; do
	if [ "$v" = trace ] || [ "$v" = nopacket ]; then
		"$TRACE" $([ "$v" = nopacket ] && echo --no-packet) > /dev/null 2> "$work/err" &
		tp=$!
		for i in $(seq 100); do grep -q 'counting TCP' "$work/err" && break; sleep 0.1; done
		sockperf_udp_mbs > /dev/null
		# every program that runs per datagram: the two cgroup_skb ones,
		# and the AF_PACKET hooks (on every packet sent, every socket woken)
		prog_stats on_egress on_ingress $([ "$v" = trace ] && echo on_dev_queue on_data_ready) > "$work/stats"
		kill -INT "$tp"; wait "$tp" || true
	else
		attach "$v"
		sockperf_udp_mbs > /dev/null
		prog_stats floor_egress floor_ingress > "$work/stats"
		detach
	fi
	awk -v v="$v" '{ ns += $2; printf "%s %s: %.0f ns a run (%d runs)\n", v, $1, $2, $3 }
		END { printf "%s: %.0f ns of BPF per datagram, both ways\n", v, ns }' "$work/stats"
done
sysctl -qw kernel.bpf_stats_enabled="$stats_was"
