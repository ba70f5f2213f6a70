/* The test devices of the accelerator tests (tests/accel/kvm/x86_accel_runner.cc), shared by
 * the guests (through the C preprocessor) and the host side. Plain #defines only.
 *
 * Port block at ACC_PORT_BASE (16 ports):
 *   +0x0 scratch: a write of 1, 2 or 4 bytes stores the value; a read returns it (its low bytes)
 *   +0x4 read: ~scratch (32-bit)
 *   +0x8 byte sink: each byte written is added to a sum and counted
 *   +0xc read: sum | count << 24
 * MMIO block at ACC_MMIO (4 KiB):
 *   +0x00 scratch: 64-bit, byte-addressable (1..8 byte accesses at +0..+7)
 *   +0x08 read: ~scratch (64-bit)
 *   +0x10 write: 1 = move the RAM window to ACC_WIN_B, 2 = back to ACC_WIN_A; read: moves done
 *   +0x18 read: accesses to the block so far
 *   +0x20 write: a fixed interrupt of that vector to the CPU's local APIC (APIC ID 0, which the
 *         runner maps at 0xfee00000)
 *   +0x28 write: GSI (bits 7:0) to level (bit 8), as a PC's board line: an I/O APIC at
 *         0xfec00000 (machina's model, or KVM's with kernel-irqchip=on) takes GSI n on pin n, but
 *         GSI 0 on pin 2 (the interrupt source override)
 * ROM at ACC_ROM (64 KiB): qword i holds ACC_ROM_WORD(i); guest writes are ignored.
 * RAM window (64 KiB) at ACC_WIN_A or ACC_WIN_B: starts at A with ACC_WIN_MAGIC in qword 0;
 * where it is not, reads float high (all-ones).
 * machina-testdev-gpio at 0xf200: +4 keeps the last byte written.
 *
 * virtio (only when the runner is asked for it: X86AccelRunner::add_virtio_rng): a q35 PCI
 * host with a virtio-rng-pci at 00:02.0 set up as firmware leaves it — the modern BAR 4 at
 * ACC_VIRTIO_BAR (common config +0, ISR +0x1000, device config +0x2000, notify +0x3000, queue n
 * at +n*4), the MSI-X BAR 1 at ACC_VIRTIO_MSIX, the legacy I/O BAR 0 at ACC_VIRTIO_LEGACY, I/O,
 * memory and bus mastering on, MSI-X enabled (entries still masked). The driver's work is the
 * guest's.
 */
#ifndef MACHINA_TESTS_GUEST_X86_ACCEL_H
#define MACHINA_TESTS_GUEST_X86_ACCEL_H

#define ACC_PORT_BASE 0xf10
#define ACC_MMIO 0x08000000
#define ACC_ROM 0x09000000
#define ACC_ROM_SIZE 0x10000
#define ACC_ROM_WORD(i) (0x524f4d0000000000 + (i))
#define ACC_WIN_A 0x0a000000
#define ACC_WIN_B 0x0b000000
#define ACC_WIN_SIZE 0x10000
#define ACC_WIN_MAGIC 0x574f444e4957 /* "WINDOW" */
#define ACC_UNASSIGNED 0x0c000000
#define ACC_GPIO_OUT 0xf204
#define ACC_VIRTIO_BAR 0x0d000000
#define ACC_VIRTIO_NOTIFY (ACC_VIRTIO_BAR + 0x3000)
#define ACC_VIRTIO_MSIX 0x0d100000
#define ACC_VIRTIO_LEGACY 0xc000

#endif
