#!/usr/bin/env bash
# Installs, on Debian/Ubuntu, the system packages the README's commands and the tests need and
# the machine lacks: python3 with pip and venv (package downloads; scripts/nvrtc-check.sh's
# venv), npm (the tokenizer package), cmake and g++ (llama.cpp's tools for the benchmarks and
# the llama-server tests), and the Vulkan loader with Mesa's lavapipe, a CPU Vulkan driver, for
# the WGSL backend's conformance tests. Does nothing when all are present. Needs root (or sudo)
# only when something is missing; elsewhere install the same packages by hand.
set -euo pipefail
need_apt=()
command -v python3 >/dev/null || need_apt+=(python3 python3-pip)
python3 -c 'import ensurepip' >/dev/null 2>&1 || need_apt+=(python3-venv)
command -v npm >/dev/null || need_apt+=(npm)
command -v cmake >/dev/null || need_apt+=(cmake)
command -v c++ >/dev/null || need_apt+=(g++)
# Debian's fortunes text: the generic calibration set (`--calib fortunes`) of the study scripts.
[ -d /usr/share/games/fortunes ] || need_apt+=(fortunes)
ls /usr/share/vulkan/icd.d/lvp_icd.*.json >/dev/null 2>&1 || need_apt+=(mesa-vulkan-drivers)
ldconfig -p | grep 'libvulkan\.so\.1' >/dev/null || need_apt+=(libvulkan1)
[ ${#need_apt[@]} -eq 0 ] && exit 0
if ! command -v apt-get >/dev/null; then
  echo "scripts/deps.sh: missing ${need_apt[*]} and no apt-get here: install them by hand" >&2
  exit 1
fi
sudo=()
[ "$(id -u)" -eq 0 ] || sudo=(sudo)
echo "scripts/deps.sh: installing ${need_apt[*]}" >&2
"${sudo[@]}" apt-get update -q
DEBIAN_FRONTEND=noninteractive "${sudo[@]}" apt-get install -y -q "${need_apt[@]}"
