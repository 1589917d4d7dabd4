#!/usr/bin/env bash
# Create or update .venv with everything Kiwi needs. Idempotent: when requirements, package
# metadata and this script are unchanged since the last success, it checks and returns in a second.
set -euo pipefail
root="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
venv="$root/.venv"
say() { echo "bootstrap: $*" >&2; }

# --- Python 3.12 (LeRobot >= 0.5 and ROS 2 Jazzy both need it) ----------------------------------
is_py312() { "$1" -c 'import sys; sys.exit(sys.version_info[:2] != (3, 12))' >/dev/null 2>&1; }
find_python() {
  local cand
  for cand in "${KIWI_PYTHON:-}" python3.12 /usr/bin/python3.12 /usr/local/bin/python3.12 \
              "$HOME"/.pyenv/versions/3.12*/bin/python3.12 "$HOME"/.local/bin/python3.12; do
    [ -n "$cand" ] && is_py312 "$cand" && { echo "$cand"; return 0; }
  done
  return 1
}

# --- Debian packages ------------------------------------------------------------------------------
# Required: EGL + Mesa for MuJoCo's offscreen cameras. Recommended: FFmpeg's libraries, which
# torchcodec (LeRobot's video decoder) loads; without them LeRobot falls back to PyAV, noisily.
required_debs=(libegl1 libegl-mesa0 libgl1-mesa-dri libgbm1)
recommended_debs=(ffmpeg)
# The tests (test.sh sets KIWI_FOR_TESTS=1) also look at `kiwi viz`'s web viewer in headless Chromium.
[ "${KIWI_FOR_TESTS:-}" = 1 ] && recommended_debs+=(chromium)
missing_debs() {
  local pkg
  for pkg in "$@"; do
    dpkg-query -W -f='${Status}' "$pkg" 2>/dev/null | grep -q "install ok installed" || echo "$pkg"
  done
}
install_debs() {  # install_debs required|recommended pkgs...
  local kind=$1; shift
  [ $# -eq 0 ] && return 0
  if [ "$(id -u)" = 0 ] && command -v apt-get >/dev/null; then
    say "installing Debian packages ($kind): $*"
    apt-get update -qq >/dev/null && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends "$@" >/dev/null
  elif command -v sudo >/dev/null && sudo -n true 2>/dev/null; then
    say "installing Debian packages ($kind) with sudo: $*"
    sudo apt-get update -qq >/dev/null && sudo DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends "$@" >/dev/null
  elif [ "$kind" = required ]; then
    say "missing Debian packages: $*"; say "install them with: sudo apt-get install $*"; exit 1
  else
    say "note: missing recommended Debian packages: $* (sudo apt-get install $*)"
  fi
}
if command -v dpkg-query >/dev/null; then
  install_debs required $(missing_debs "${required_debs[@]}")
  install_debs recommended $(missing_debs "${recommended_debs[@]}")
else
  say "not a Debian system: make sure EGL (libEGL + Mesa) and FFmpeg's libraries are installed"
fi

# --- for the tests: what Ubuntu 24.04 ships of what a launch file imports under apt's Python -------
# (test_apt_python.py runs the launch-time code with these and nothing else of the venv's.)
ubuntu_noble_pins=(PyYAML==6.0.1 numpy==1.26.4)
install_test_extras() {
  [ "${KIWI_FOR_TESTS:-}" = 1 ] || return 0
  local dir="$venv/ubuntu-noble"
  [ "$(cat "$dir/.pins" 2>/dev/null)" = "${ubuntu_noble_pins[*]}" ] && return 0
  say "installing Ubuntu 24.04's PyYAML and numpy versions for the tests into $dir"
  rm -rf "$dir"
  "$venv/bin/python" -m pip install -q --no-deps --target "$dir" "${ubuntu_noble_pins[@]}"
  echo "${ubuntu_noble_pins[*]}" > "$dir/.pins"
}

# --- virtual environment --------------------------------------------------------------------------
stamp_of() {
  { cat "$root/requirements.txt" "$root/constraints.txt" "$root/scripts/bootstrap.sh" \
        "$root"/src/*/setup.py "$root"/src/*/package.xml; ls "$root"/src; } | sha256sum | cut -d' ' -f1
}
if [ -x "$venv/bin/python" ] && is_py312 "$venv/bin/python" && [ -f "$venv/.kiwi-stamp" ] \
   && [ "$(cat "$venv/.kiwi-stamp")" = "$(stamp_of)" ]; then
  install_test_extras
  exit 0
fi
if ! { [ -x "$venv/bin/python" ] && is_py312 "$venv/bin/python"; }; then
  py=$(find_python) || {
    say "Python 3.12 is required (LeRobot >= 0.5 and ROS 2 Jazzy need it) and none was found."
    say "Install it (Debian/Ubuntu: apt-get install python3.12 python3.12-venv; or pyenv install 3.12),"
    say "or point KIWI_PYTHON at a python3.12 executable."
    exit 1
  }
  say "creating $venv with $py"
  rm -rf "$venv"
  "$py" -m venv "$venv"
fi
say "installing pinned dependencies (the first time downloads about 5 GB: PyTorch with CUDA libraries)"
"$venv/bin/python" -m pip install -q --upgrade pip
"$venv/bin/python" -m pip install -q -r "$root/requirements.txt" -c "$root/constraints.txt"
editables=()
for pkg in "$root"/src/*/setup.py; do editables+=(-e "$(dirname "$pkg")"); done  # kiwi_* and lerobot_*_kiwi
# setuptools prints deprecation banners for editable installs: show them only on failure.
if ! log=$("$venv/bin/python" -m pip install -q --no-deps --no-build-isolation "${editables[@]}" 2>&1); then
  echo "$log" >&2; say "installing the Kiwi packages failed"; exit 1
fi
"$venv/bin/python" -c "import rclpy, mujoco, lerobot, kiwi_bringup, lerobot_env_kiwi" \
  || { say "the environment does not import; see the errors above"; exit 1; }
stamp_of > "$venv/.kiwi-stamp"
install_test_extras
say "environment ready in $venv"
