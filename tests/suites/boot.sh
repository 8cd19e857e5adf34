#!/bin/bash
# The guest boots, sees its shares, and can build the emulated USB stack.
#   boot.sh [break]   "break" expects another kernel than the one booted
. tests/suites/lib.sh
want=$DLKMS_KRELEASE
[ "${1:-}" != break ] || want="$DLKMS_KRELEASE [break: not this kernel]"
say "kernel $(uname -r) ($DLKMS_KVER)"
[ "$(uname -r)" = "$want" ] || fail "booted $(uname -r), expected $want"
touch "$OUT/write-test" || fail "out share not writable"
modprobe dummy_hcd || fail "modprobe dummy_hcd"
modprobe libcomposite || fail "modprobe libcomposite"
[ -e /sys/class/udc/dummy_udc.0 ] || fail "no dummy_udc.0"
mountpoint -q /sys/kernel/config || fail "configfs not mounted"
for m in udl vgem usb_f_fs; do
	modinfo "$m" >/dev/null 2>&1 || fail "module $m missing"
done
ok "guest $(uname -r): shares, dummy_hcd, configfs, udl/vgem/usb_f_fs present"
