#!/bin/bash
# IGT's CRC tests against dlkms's CRC source (debugfs crtc-0/crc/, the CRC
# of the frame as sent): every subtest in tests/igt/crc.testlist against
# tests/igt/crc.expected, as dlkms-igt.sh runs the main list. kms_cursor_crc
# alone runs about 4 minutes under TCG (its cursor moves are CRC-checked
# frame by frame), so the list has its own suite and a longer per-binary
# limit. kms_pipe_crc_basic is in the main list and its replug part.
# rig-timeout: 720
export IGT_BIN_TIMEOUT=420
exec bash tests/suites/dlkms-igt.sh "$@" tests/igt/crc.testlist tests/igt/crc.expected -
