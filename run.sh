#!/usr/bin/env bash
# The main job: set up .venv if needed, then run `kiwi demo` (the whole imitation-learning loop in
# the sim with DAgger rounds, ending in data/demo/report/README.md). Arguments go to `kiwi demo`,
# e.g. ./run.sh --quick, ./run.sh --policy diffusion --out data/demo_diffusion. Ctrl-C stops it;
# the same command continues where it stopped. The live sim alone: .venv/bin/kiwi launch sim
set -euo pipefail
root="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
"$root/scripts/bootstrap.sh"
cd "$root"
export MUJOCO_GL=egl ROS_AUTOMATIC_DISCOVERY_RANGE="${ROS_AUTOMATIC_DISCOVERY_RANGE:-LOCALHOST}"
exec "$root/.venv/bin/kiwi" demo "$@"
