#!/bin/bash
# weston across a system suspend: dlkms-weston.sh --sleep, in the boot that
# survives a suspend (its yank and replug follow, as in dlkms-weston).
# rig-sleeps: yes
# rig-timeout: 480
exec bash tests/suites/dlkms-weston.sh "$@" --sleep
