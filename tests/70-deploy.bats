#!/usr/bin/env bats
# deploy/: the Kubernetes manifests are what kubectl accepts, and the
# image runs as the DaemonSet runs it (host pid and network, the same
# mounts and capabilities), naming host processes and containers.

load helper

teardown() {
	stop_started ${API:-}
	if [ -n "${CTRS:-}" ]; then
		for c in $CTRS; do "${PODMAN[@]}" rm -f -t 0 "$c" > /dev/null 2>&1 || true; done
	fi
	for i in ${TESTIMAGE:-} ${GENIMAGE:-}; do "${PODMAN[@]}" rmi -f "$i" > /dev/null 2>&1 || true; done
	true
}

# a kubeconfig for a discovery-only server (tests/kube-discovery.py)
kube_fake() {
	need_cmd kubectl python3
	python3 "$SNITCH_TOP/tests/kube-discovery.py" "$BATS_TEST_TMPDIR/port" 3>&- &
	API=$!
	for _ in $(seq 50); do [ -s "$BATS_TEST_TMPDIR/port" ] && break; sleep 0.1; done
	cat > "$BATS_TEST_TMPDIR/kubeconfig" <<-EOC
	apiVersion: v1
	kind: Config
	clusters: [{name: fake, cluster: {server: "http://127.0.0.1:$(cat "$BATS_TEST_TMPDIR/port")"}}]
	contexts: [{name: fake, context: {cluster: fake, user: fake}}]
	users: [{name: fake, user: {}}]
	current-context: fake
	EOC
	export KUBECONFIG=$BATS_TEST_TMPDIR/kubeconfig
}

@test "kubectl create --dry-run=client accepts deploy/kubernetes/, and the ServiceMonitor apart" {
	kube_fake
	run --separate-stderr kubectl create --dry-run=client --validate=false -f "$SNITCH_TOP/deploy/kubernetes/"
	echo "$output"; echo "$stderr"
	[ "$status" -eq 0 ]
	[ "$(echo "$output" | sort)" = "$(printf '%s\n' 'daemonset.apps/snitch created (dry run)' \
		'namespace/snitch created (dry run)' 'service/snitch created (dry run)' \
		'serviceaccount/snitch created (dry run)')" ]
	run --separate-stderr kubectl create --dry-run=client --validate=false -f "$SNITCH_TOP/deploy/kubernetes/prometheus-operator/"
	[ "$status" -eq 0 ]
	[ "$output" = "servicemonitor.monitoring.coreos.com/snitch created (dry run)" ]
	# what kubectl made of the DaemonSet: the settings that matter, as written
	kubectl create --dry-run=client --validate=false -o json -f "$SNITCH_TOP/deploy/kubernetes/20-daemonset.yaml" |
		jq -e '.spec.template.spec as $s | $s.hostPID and $s.hostNetwork and
			($s.containers[0].securityContext.privileged == false) and
			($s.containers[0].securityContext.capabilities.drop == ["ALL"]) and
			([$s.containers[0].volumeMounts[] | select(.mountPath | startswith("/host/")) | .readOnly] | all) and
			($s.tolerations == [{"operator": "Exists"}])'
}

@test "a manifest kubectl cannot map is refused (the check can fail)" {
	kube_fake
	printf 'apiVersion: apps/v1\nkind: DaemonSett\nmetadata:\n  name: x\n' > "$BATS_TEST_TMPDIR/bad.yaml"
	run --separate-stderr kubectl create --dry-run=client --validate=false -f "$BATS_TEST_TMPDIR/bad.yaml"
	[ "$status" -ne 0 ]
	printf 'apiVersion: v1\nkind: Namespace\nmetadata: [\n' > "$BATS_TEST_TMPDIR/bad.yaml"
	run --separate-stderr kubectl create --dry-run=client --validate=false -f "$BATS_TEST_TMPDIR/bad.yaml"
	[ "$status" -ne 0 ]
}

# The image to run: $SNITCH_TEST_IMAGE, else make image's if it was built,
# else one made here of the tools and the libraries they load (make image
# needs a Debian mirror and minutes; this needs neither).
test_image() {
	local version tag
	version=$(sed -n 's/^VERSION := //p' "$SNITCH_TOP/Makefile")
	tag=${SNITCH_TEST_IMAGE:-localhost/snitch:$version}
	if "${PODMAN[@]}" image exists "$tag"; then
		IMAGE=$tag
		return
	fi
	TESTIMAGE=localhost/snitch-test-$$:1
	podman_image "$TESTIMAGE" "$SNITCH_BIN"/snitch*
	IMAGE=$TESTIMAGE
}

@test "the image runs as the DaemonSet runs it: host processes by path, another container by name and image" {
	need_bpf
	need_cmd podman runc sqlite3
	kube_fake
	d=$BATS_TEST_TMPDIR
	test_image
	# the DaemonSet's settings, as kubectl reads them
	kubectl create --dry-run=client --validate=false -o json -f "$SNITCH_TOP/deploy/kubernetes/20-daemonset.yaml" > "$d/ds.json"
	caps=$(jq -r '.spec.template.spec.containers[0].securityContext.capabilities.add | join(",")' "$d/ds.json")
	[ -n "$caps" ]
	args=(--pid host --network host --cap-drop ALL --cap-add "$caps" --read-only
	      --security-opt seccomp=unconfined --security-opt no-new-privileges)
	jq -e '.spec.template.spec | .hostPID and .hostNetwork' "$d/ds.json"
	while read -r k v; do args+=(-e "$k=$v"); done < <(jq -r '.spec.template.spec.containers[0].env[] | "\(.name) \(.value)"' "$d/ds.json")
	# the host paths it mounts, read-only; this machine's cgroup2 is where
	# /proc/mounts says (here /sys/fs/cgroup/unified, for /sys/fs/cgroup)
	cg=$(awk '$3 == "cgroup2" { print $2; exit }' /proc/mounts)
	while read -r host mnt ro; do
		[ "$host" = /sys/fs/cgroup ] && host=$cg
		case $host in
		/var/lib/snitch|/var/log/snitch) mkdir -p "$d$host"; args+=(-v "$d$host:$mnt") ;;	# the log: the test's own
		*) [ -e "$host" ] && args+=(-v "$host:$mnt${ro:+:ro}") ;;
		esac
	done < <(jq -r '.spec.template.spec as $s | $s.containers[0].volumeMounts[] | . as $m |
		($s.volumes[] | select(.name == $m.name) | .hostPath.path // empty) as $h |
		"\($h) \($m.mountPath) \(if $m.readOnly then "ro" else "" end)"' "$d/ds.json")
	while read -r mnt; do args+=(--tmpfs "$mnt"); done < <(jq -r '.spec.template.spec as $s | $s.containers[0].volumeMounts[] | . as $m |
		select([$s.volumes[] | select(.name == $m.name) | .emptyDir // empty] | length > 0) | .mountPath' "$d/ds.json")
	# a test image has no configuration file: the built-in defaults
	[ -n "${TESTIMAGE:-}" ] && args+=(-e SNITCH_CONF=/dev/null --entrypoint /bin/snitch)
	SNITCHC=snitch-ds-$$
	CTRS="$SNITCHC"
	"${PODMAN[@]}" run -d --name "$SNITCHC" "${PODMAN_LIMITS[@]}" "${args[@]}" -e SNITCH_WRITE_LIMIT_S=1 "$IMAGE" run
	for _ in $(seq 100); do
		"${PODMAN[@]}" logs "$SNITCHC" 2>&1 | grep -q 'snitch-trace: counting TCP' && break
		sleep 0.2
	done
	"${PODMAN[@]}" logs "$SNITCHC" 2>&1 | grep -q 'snitch-trace: counting TCP'
	# a process of the host, and another container with a name
	cp "$GEN" "$d/gen-host"
	# each stays a second after its traffic: read from /proc even when the machine is loaded
	TRAFFICGEN_LINGER_MS=1000 "$d/gen-host" udp4 > "$d/host.report"
	GENIMAGE=localhost/snitch-gen-$$:1
	podman_image "$GENIMAGE" "$GEN"
	OTHER=snitch-other-$$
	CTRS="$CTRS $OTHER"
	"${PODMAN[@]}" run --name "$OTHER" "${PODMAN_LIMITS[@]}" --network none -e TRAFFICGEN_LINGER_MS=1000 "$GENIMAGE" /bin/trafficgen udp4 > "$d/ctr.report"
	other_id=$("${PODMAN[@]}" inspect -f '{{.Id}}' "$OTHER")
	sleep 2
	"${PODMAN[@]}" stop -t 30 "$SNITCHC" > /dev/null
	"${PODMAN[@]}" logs "$SNITCHC" 2>&1 | tail -40
	db=$d/var/lib/snitch/snitch.db
	q() { sqlite3 "$db" "$1"; }
	want_host=$(jq -s 'map(.send_bytes) | add' "$d/host.report")
	want_ctr=$(jq -s 'map(.send_bytes) | add' "$d/ctr.report")
	# the host's process: its path on the host, in no container
	[ "$(q "select coalesce(k.name, 'none'), sum(c.send_bytes) from connections c join executables e on e.id = c.exe_id
		left join containers k on k.id = c.container_id where e.path = '$d/gen-host' group by 1")" = "none|$want_host" ]
	# the other container's: the path inside it, its name and image
	[ "$(q "select k.name, k.container_name, k.image, sum(c.send_bytes) from connections c join executables e on e.id = c.exe_id
		join containers k on k.id = c.container_id where e.path = '/bin/trafficgen' group by 1")" = \
	  "podman:$other_id|$OTHER|$GENIMAGE|$want_ctr" ]
}
