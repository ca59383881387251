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
	[ -z "${TESTIMAGE:-}" ] || "${PODMAN[@]}" rmi -f "$TESTIMAGE" > /dev/null 2>&1 || true
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
