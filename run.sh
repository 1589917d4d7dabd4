#!/usr/bin/env bash
# The main job: set up .venv if needed, then bring up the sim graph (arguments go to the graph,
# e.g. ./run.sh obstacle:=true seed:=3). Ctrl-C stops it.
set -euo pipefail
root="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
"$root/scripts/bootstrap.sh"
export MUJOCO_GL=egl ROS_AUTOMATIC_DISCOVERY_RANGE="${ROS_AUTOMATIC_DISCOVERY_RANGE:-LOCALHOST}"
exec "$root/.venv/bin/kiwi" launch sim "$@"
