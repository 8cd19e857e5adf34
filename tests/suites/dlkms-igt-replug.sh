#!/bin/bash
# IGT's KMS tests on a replugged adapter: the first device is yanked while
# a process holds it open (fd + mapping), and every subtest in
# tests/igt/dlkms.testlist runs on the new device, against the same
# expected results as on a fresh plug (tests/suites/dlkms-igt.sh --replug).
# rig-timeout: 600
exec bash tests/suites/dlkms-igt.sh --replug "$@"
