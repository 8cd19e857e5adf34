#!/bin/bash
# IGT's suspend subtests against dlkms: every subtest in
# tests/igt/suspend.testlist against tests/igt/suspend.expected, as
# dlkms-igt.sh runs the main list. Each suspends the guest for real (ACPI
# S3, rtcwake -m mem -s 15), so the suite runs in a boot whose results
# survive a suspend; no replug part (dlkms-igt has it).
# rig-sleeps: yes
# rig-timeout: 600
exec bash tests/suites/dlkms-igt.sh "$@" tests/igt/suspend.testlist tests/igt/suspend.expected -
