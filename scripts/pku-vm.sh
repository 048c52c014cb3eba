#!/usr/bin/env bash
# Runs a command on a CPU with protection keys, when this machine's CPU has none: inside a QEMU guest
# whose emulated CPU (TCG, `-cpu max`) implements PKU, PKRU and protection-key faults, booting Debian's
# own kernel (CONFIG_X86_INTEL_MEMORY_PROTECTION_KEYS=y). The guest mounts this machine's root file
# system over 9p and runs the command in a chroot of it, in the current directory, with the same PATH,
# so it sees the same build tree and binaries; what it writes lands here. Its exit status is the command's.
# The guest has loopback networking only; FLEX_PKU_VM_GUEST=1 is set inside it.
#
#   scripts/pku-vm.sh --check                  is a PKU guest available? (reason on stderr if not)
#   scripts/pku-vm.sh -- build/tests/runtime_mpk_test --gtest_filter='hardware.*'
#
# Costs: about 10 s to boot; code runs 10-50x slower than on the host (emulation), so use it for
# behaviour, never for figures. Needs qemu-system-x86, linux-image-amd64 and busybox-static (installed by
# scripts/bootstrap.sh). FLEX_PKU_VM_MEM (MiB, default 3072) and FLEX_PKU_VM_TIMEOUT (s, default 1200).
set -euo pipefail

say() { echo "pku-vm: $*" >&2; }

kernel=""
for k in /boot/vmlinuz-*; do [ -f "$k" ] && kernel="$k"; done
kver="${kernel#/boot/vmlinuz-}"
modules=(virtio_ring virtio virtio_pci_legacy_dev virtio_pci_modern_dev virtio_pci netfs fscache 9pnet
         9pnet_virtio 9p)

check() {
  command -v qemu-system-x86_64 >/dev/null || { say "qemu-system-x86_64 not found (apt-get install qemu-system-x86)"; return 1; }
  [ -x /bin/busybox ] || { say "/bin/busybox not found (apt-get install busybox-static)"; return 1; }
  [ -n "$kernel" ] || { say "no kernel in /boot (apt-get install linux-image-amd64)"; return 1; }
  grep -q '^CONFIG_X86_INTEL_MEMORY_PROTECTION_KEYS=y' "/boot/config-$kver" 2>/dev/null ||
    { say "$kernel was built without protection keys"; return 1; }
  for m in "${modules[@]}"; do
    [ -n "$(find "/lib/modules/$kver" -name "$m.ko" -print -quit 2>/dev/null)" ] ||
      { say "kernel module $m.ko of $kver not found (uncompressed modules expected)"; return 1; }
  done
}

if [ "${1:-}" = "--check" ]; then
  check
  exit $?
fi
[ "${1:-}" = "--" ] && shift
[ $# -gt 0 ] || { say "usage: scripts/pku-vm.sh --check | scripts/pku-vm.sh -- COMMAND [ARGS...]"; exit 2; }
check || exit 2

# A per-run folder holds the initramfs, the command and its exit status. The guest sees this machine's
# whole file system, /tmp included, so a command may run from anywhere.
run_dir="$(mktemp -d /var/tmp/flex-pku-vm.XXXXXX)"
trap 'rm -rf "$run_dir"' EXIT
mkdir -p "$run_dir/root/bin" "$run_dir/root/lib"
cp /bin/busybox "$run_dir/root/bin/"
for m in "${modules[@]}"; do cp "$(find "/lib/modules/$kver" -name "$m.ko" -print -quit)" "$run_dir/root/lib/"; done

{
  printf 'export PATH=%q HOME=%q FLEX_PKU_VM_GUEST=1\n' "$PATH" "${HOME:-/root}"
  for v in $(compgen -e | grep -E '^(FLEX_|GTEST_|CTEST_)' || true); do printf 'export %s=%q\n' "$v" "${!v}"; done
  printf 'cd %q || exit 125\n' "$PWD"
  printf '%q ' "$@"
  printf '\necho $? > %q\n' "$run_dir/rc"
} > "$run_dir/cmd.sh"

cat > "$run_dir/root/init" <<EOF
#!/bin/busybox sh
bb=/bin/busybox
\$bb mkdir -p /proc /sys /dev /mnt
\$bb mount -t proc proc /proc
\$bb mount -t devtmpfs dev /dev
\$bb ip link set lo up 2>/dev/null || \$bb ifconfig lo 127.0.0.1 up
for m in ${modules[*]}; do \$bb insmod /lib/\$m.ko || echo "pku-vm: insmod \$m failed"; done
if \$bb mount -t 9p -o trans=virtio,version=9p2000.L,msize=512000,cache=none hostroot /mnt; then
  \$bb mount -t proc proc /mnt/proc
  \$bb mount -t sysfs sys /mnt/sys
  \$bb mount -t devtmpfs dev /mnt/dev
  \$bb mount -t devpts devpts /mnt/dev/pts 2>/dev/null
  \$bb grep -qw pku /proc/cpuinfo || echo "pku-vm: the guest CPU has no pku flag"
  \$bb chroot /mnt /bin/sh $run_dir/cmd.sh
else
  echo "pku-vm: cannot mount the host file system over 9p"
fi
\$bb poweroff -f
EOF
chmod +x "$run_dir/root/init"
(cd "$run_dir/root" && find . | cpio -o -H newc --quiet | gzip -1 > "$run_dir/initrd.gz")

# The guest's console is this command's output; the kernel stays quiet unless it panics.
timeout "${FLEX_PKU_VM_TIMEOUT:-1200}" qemu-system-x86_64 -accel tcg -cpu max -smp 2 -m "${FLEX_PKU_VM_MEM:-3072}" \
  -nographic -no-reboot -monitor none -serial stdio -nodefaults -bios /usr/share/qemu/qboot.rom \
  -kernel "$kernel" -initrd "$run_dir/initrd.gz" \
  -append "console=ttyS0 quiet loglevel=3 panic=-1" \
  -virtfs local,path=/,mount_tag=hostroot,security_model=passthrough,multidevs=remap </dev/null |
  tr -d '\r' | grep -av --line-buffered -e 'reboot: Power down' || true

if [ ! -f "$run_dir/rc" ]; then
  say "the guest ended before the command finished"
  exit 125
fi
exit "$(cat "$run_dir/rc")"
