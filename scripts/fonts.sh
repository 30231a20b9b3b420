#!/usr/bin/env bash
# Make sure a font with Chinese characters is installed for the charts (/charts): Debian's
# WenQuanYi Micro Hei (fonts-wqy-microhei, 1.6 MB). Needs root and apt when it is missing;
# elsewhere install any CJK font and set [charts] font_path.
set -euo pipefail
for font in /usr/share/fonts/truetype/wqy/wqy-microhei.ttc \
            /usr/share/fonts/opentype/noto/NotoSansCJK-Regular.ttc \
            /usr/share/fonts/truetype/wqy/wqy-zenhei.ttc; do
  if [ -f "$font" ]; then exit 0; fi
done
if [ "$(id -u)" != 0 ] || ! command -v apt-get >/dev/null 2>&1; then
  echo "no CJK font for the charts: install fonts-wqy-microhei (or set [charts] font_path)" >&2
  exit 1
fi
export DEBIAN_FRONTEND=noninteractive
apt-get update -qq >/dev/null
apt-get install -y -qq fonts-wqy-microhei >/dev/null
