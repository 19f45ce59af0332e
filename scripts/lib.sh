# Shared by scripts/run and scripts/test: a virtual environment in .venv and the system packages.
# shellcheck shell=bash

PYTHON=${PYTHON:-python3}

ensure_venv() {  # ensure_venv EXTRAS: create .venv and install streetflow (editable) with EXTRAS
    local extras=$1
    if [ ! -x .venv/bin/python ]; then
        "$PYTHON" -m venv .venv
    fi
    .venv/bin/python -m pip install --quiet --upgrade pip
    # setuptools says "Editable installation... be careful with folders named as your package"
    # on every editable install: the folders here are the packages, so it only says noise.
    .venv/bin/python -W "ignore:Editable installation:UserWarning" -m pip install --quiet -e ".${extras}"
}

ensure_system_packages() {  # ensure_system_packages COMMAND:DEBIAN_PACKAGE ...
    # A package with no command of its own (a font) is checked as dpkg:PACKAGE.
    local missing=()
    for pair in "$@"; do
        if [ "${pair%%:*}" = dpkg ]; then
            dpkg -s "${pair#*:}" >/dev/null 2>&1 || missing+=("${pair#*:}")
        else
            command -v "${pair%%:*}" >/dev/null 2>&1 || missing+=("${pair#*:}")
        fi
    done
    [ ${#missing[@]} -eq 0 ] && return 0
    if [ "$(id -u)" -eq 0 ] && command -v apt-get >/dev/null 2>&1; then
        echo "installing ${missing[*]} (Debian packages)" >&2
        apt-get update -qq >/dev/null
        DEBIAN_FRONTEND=noninteractive apt-get install -y -qq "${missing[@]}" >/dev/null
    elif command -v sudo >/dev/null 2>&1 && command -v apt-get >/dev/null 2>&1; then
        sudo apt-get update -qq >/dev/null
        sudo DEBIAN_FRONTEND=noninteractive apt-get install -y -qq "${missing[@]}" >/dev/null
    else
        echo "please install: ${missing[*]}" >&2
        return 1
    fi
}
