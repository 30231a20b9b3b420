#!/usr/bin/env bash
# Make sure Debian's Chromium and Firefox ESR are installed for the sandbox's browser tests, and
# a colour emoji font for the screenshots (root + apt only).
set -euo pipefail
wanted=()
command -v chromium >/dev/null 2>&1 || wanted+=(chromium)
command -v firefox-esr >/dev/null 2>&1 || command -v firefox >/dev/null 2>&1 || wanted+=(firefox-esr)
[ -e /usr/share/fonts/truetype/noto/NotoColorEmoji.ttf ] || wanted+=(fonts-noto-color-emoji)
if [ ${#wanted[@]} -eq 0 ]; then exit 0; fi
if [ "$(id -u)" != 0 ] || ! command -v apt-get >/dev/null 2>&1; then exit 1; fi
export DEBIAN_FRONTEND=noninteractive
apt-get update -qq >/dev/null
apt-get install -y -qq "${wanted[@]}" >/dev/null
