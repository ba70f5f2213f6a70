/* tests/guest/x86/elcr.S: the 8259 pair's edge/level control registers (ports 0x4d0, 0x4d1) as
 * the q35 machine's firmware set-up leaves them: PIRQ A-H on IRQ 10 and 11, level-triggered
 * (slave bits 2 and 3), nothing else. Then the writable bits: 0xff written reads back as the
 * chipset's masks (0xf8 master, 0xde slave). The same whether the 8259s are machina's models or
 * KVM's (kernel-irqchip=on), which the firmware set-up reaches through KVM_SET_IRQCHIP. Boots on
 * the q35 machine (-kernel); in QEMU -M q35 the BIOS sets the same bits. */
#define TEST_BASE 0x1900
#include "testlib.inc"

        .text
test_main:
        mov $0x4d0, %edx
        xor %eax, %eax
        inb %dx, %al
        CHECK_EQ %rax, $0x00, "master ELCR after firmware set-up: no level-triggered IRQ"
        mov $0x4d1, %edx
        xor %eax, %eax
        inb %dx, %al
        CHECK_EQ %rax, $0x0c, "slave ELCR after firmware set-up: IRQ 10 and 11 level-triggered"
        mov $0xff, %al
        mov $0x4d0, %edx
        outb %al, %dx
        mov $0x4d1, %edx
        outb %al, %dx
        mov $0x4d0, %edx
        xor %eax, %eax
        inb %dx, %al
        CHECK_EQ %rax, $0xf8, "master ELCR: IRQ 0-2 cannot be level-triggered"
        mov $0x4d1, %edx
        xor %eax, %eax
        inb %dx, %al
        CHECK_EQ %rax, $0xde, "slave ELCR: IRQ 8 and 13 cannot be level-triggered"
        mov $0x0c, %al
        outb %al, %dx
        xor %al, %al
        mov $0x4d0, %edx
        outb %al, %dx
        ret
