# SPDX-License-Identifier: GPL-2.0-only
#
# make                 build dlkms.ko for KDIR (default: the running kernel)
# make W=1 C=2         the same with extra warnings and sparse
# make demo            boot a guest, light the emulated adapter, yank it
# make check           every test suite on Debian 6.1, 6.12 and 7.2
# make lint            checkpatch.pl over src/ and include/
# make bench           dlkms vs in-tree udl figures (KERNEL=7.2 default)
# make pictures        the README's pictures of the emulated monitor (docs/img/)
# make soak            2000 random yank/replug cycles per kernel (CYCLES=, KERNELS=)
# make soak-hostile    5000 seeded hostile-adapter probes per kernel (PROBES=, SEED=, KERNELS=)
# make install-udev    as root: make dlkms, not udl/udlfb, bind DisplayLink adapters
# make uninstall-udev  remove what install-udev installed (udev/install)
#
# The kernel build itself reads Kbuild.

KDIR ?= /lib/modules/$(shell uname -r)/build
PWD := $(CURDIR)

all: modules

modules:
	$(MAKE) -C $(KDIR) M=$(PWD) modules

modules_install: modules
	$(MAKE) -C $(KDIR) M=$(PWD) modules_install

clean:
	$(MAKE) -C $(KDIR) M=$(PWD) clean 2>/dev/null || \
		rm -rf src/*.o src/.*.cmd *.ko *.mod *.mod.c .*.cmd Module.symvers modules.order .tmp_versions

check:
	tests/rig/check $(if $(KERNELS),--kernels "$(KERNELS)") $(if $(SUITES),--suites "$(SUITES)")

demo:
	tests/rig/demo $(if $(KERNEL),--kernel $(KERNEL)) $(if $(DRIVER),--driver $(DRIVER))

lint:
	tests/rig/lint

bench:
	tests/bench/run $(if $(KERNEL),--kernel $(KERNEL))

pictures:
	tests/rig/pictures $(if $(KERNEL),--kernel $(KERNEL))

soak:
	tests/rig/soak $(if $(KERNELS),--kernels "$(KERNELS)") $(if $(CYCLES),--cycles $(CYCLES))

soak-hostile:
	tests/rig/soak --hostile $(or $(PROBES),5000) $(if $(KERNELS),--kernels "$(KERNELS)") $(if $(SEED),--seed $(SEED))

install-udev:
	sh udev/install

uninstall-udev:
	sh udev/install --uninstall

.PHONY: all modules modules_install clean check demo lint bench pictures soak soak-hostile install-udev uninstall-udev
