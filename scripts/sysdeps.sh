#!/usr/bin/env bash
# Debian packages that pip needs to build mysqlclient (it has no Linux wheel):
# a C compiler, the Python headers, pkg-config and the MariaDB client headers;
# and GNU gettext (msgfmt) for `make messages` and the catalogue test.
# Installs only what is missing, non-interactively; does nothing when all are there.
set -euo pipefail
missing=()
command -v gcc >/dev/null || missing+=(gcc)
command -v pkg-config >/dev/null || missing+=(pkg-config)
command -v msgfmt >/dev/null || missing+=(gettext)
pkg-config --exists libmariadb 2>/dev/null || pkg-config --exists mysqlclient 2>/dev/null \
    || missing+=(libmariadb-dev)
python3.11 -c 'import sysconfig, os, sys; sys.exit(not os.path.exists(os.path.join(sysconfig.get_paths()["include"], "Python.h")))' 2>/dev/null \
    || missing+=(python3-dev)
[ ${#missing[@]} -eq 0 ] && exit 0
echo "installing build dependencies: ${missing[*]}"
if [ "$(id -u)" -ne 0 ]; then
    echo "not root: run  sudo apt-get install -y ${missing[*]}" >&2
    exit 1
fi
export DEBIAN_FRONTEND=noninteractive
apt-get update -qq
apt-get install -y -qq --no-install-recommends "${missing[@]}"
