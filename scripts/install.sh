#!/usr/bin/env bash
# Set up liveloom in ./.venv: the package, its test tools, and FluidSynth with a General MIDI
# soundfont for render_audio. Safe to run again; it only adds what is missing.
set -euo pipefail
cd "$(dirname "$0")/.."

PYTHON="${PYTHON:-python3}"
if ! "$PYTHON" -c 'import sys; sys.exit(sys.version_info < (3, 11))'; then
  echo "liveloom needs Python 3.11 or newer; set PYTHON=/path/to/python3.11" >&2
  exit 1
fi
[ -x .venv/bin/python ] || "$PYTHON" -m venv .venv
.venv/bin/python -m pip install --quiet --upgrade pip
# PyTorch first, pinned, so that the package's own "torch>=2.4" is already met: 2.13.0 is the CPU
# build where a local wheel is provided (this project's machines); elsewhere pip fetches 2.13.0 for
# the platform. To use a GPU, install the CUDA build of torch into .venv before running this script
# (see https://pytorch.org/get-started/locally/); an installed torch >= 2.4 is kept as it is.
if ! .venv/bin/python -c 'import torch, sys; sys.exit(tuple(map(int, torch.__version__.split("+")[0].split(".")[:2])) < (2, 4))' 2>/dev/null; then
  .venv/bin/python -m pip install --quiet "torch==2.13.0"
fi
.venv/bin/python -m pip install --quiet -e ".[test]"
# basic-pitch's wheel carries the transcription network's weights (0.76 MB). Installed without its
# dependencies: they would pull TensorFlow and numpy<2; liveloom runs the network in PyTorch and only
# reads the weights (the ONNX reference used by the tests and bench runs on onnxruntime).
.venv/bin/python -m pip install --quiet --no-deps "basic-pitch==0.4.0"
# transkun's wheel carries the piano model (Transkun 2.0, MIT, 56 MB). Also without its dependencies:
# it declares torchaudio (no build for every torch; liveloom computes the one mel filterbank it took
# from there) and training tools; its modules import pretty_midi and mir_eval, installed here.
.venv/bin/python -m pip install --quiet --no-deps "transkun==2.0.1"
.venv/bin/python -m pip install --quiet "pretty_midi>=0.2.10" "mir_eval>=0.8"

# apt-get install, as root or with password-less sudo; says what to run otherwise.
apt_install() {
  command -v apt-get >/dev/null 2>&1 || return 1
  local SUDO=""; [ "$(id -u)" -eq 0 ] || SUDO="sudo -n"
  $SUDO true 2>/dev/null || { echo "note: run 'sudo apt install $*'" >&2; return 1; }
  $SUDO apt-get update -qq >/dev/null 2>&1 || true
  DEBIAN_FRONTEND=noninteractive $SUDO apt-get install -y -qq --no-install-recommends "$@" >/dev/null 2>&1
}

# FluidSynth + a GM soundfont (render_audio, the demo's WAV). Optional: without them every
# other tool works and render_audio says what to install.
if ! command -v fluidsynth >/dev/null 2>&1 || ! ls /usr/share/sounds/sf2/*.sf2 >/dev/null 2>&1; then
  if command -v apt-get >/dev/null 2>&1; then
    apt_install fluidsynth fluid-soundfont-gm \
      || echo "note: could not apt-get install fluidsynth fluid-soundfont-gm; render_audio will be unavailable" >&2
  elif command -v brew >/dev/null 2>&1; then
    brew list fluid-synth >/dev/null 2>&1 || brew install fluid-synth >/dev/null \
      || echo "note: brew install fluid-synth failed; render_audio will be unavailable" >&2
    echo "note: also put a GM soundfont (.sf2) somewhere and set LIVELOOM_SOUNDFONT to it" >&2
  else
    echo "note: install FluidSynth and a GM soundfont to enable render_audio (see README)" >&2
  fi
fi

# For the tests of the MCP Apps piano roll in a real browser: Chromium (Debian's package; Playwright, in the
# test extra, drives it) and the test host page, built on the official @modelcontextprotocol/ext-apps (npm).
if ! command -v chromium >/dev/null 2>&1 && [ ! -x /usr/lib/chromium/chromium ]; then
  apt_install chromium || echo "note: could not install Chromium; the piano-roll browser test needs it" >&2
fi
if command -v npm >/dev/null 2>&1; then
  (cd tests/apps_harness && { [ -d node_modules/@modelcontextprotocol/ext-apps ] \
      || npm ci --no-audit --no-fund --silent; } && npm run --silent build) \
    || echo "note: could not build tests/apps_harness; the piano-roll browser test needs it" >&2
else
  echo "note: npm is missing; the piano-roll browser test needs Node.js and npm" >&2
fi
echo "liveloom installed in .venv ($(.venv/bin/liveloom --version))" >&2
