# Sourced by the benches: flow_example prints the flow record of
# docs/records.md ("### flow", its JSON example), which they fill with
# their own values. One awk: a second one that exited early would kill the
# first (SIGPIPE), which pipefail makes the script's exit.
flow_example() {
	awk '/^### flow/ { flow = 1 } flow && /^```json$/ { on = 1; next } on && /^```$/ { exit } on' docs/records.md
}
