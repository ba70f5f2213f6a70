/* tests/guest/x86/gsi.S: board interrupt lines through the I/O APIC into user mode. The guest
 * maps the local APIC (0xfee00000) at WIN and the I/O APIC (0xfec00000) at WIN + 4 KiB, enables
 * the local APIC, and points I/O APIC pin 5 (edge) at VEC5 and pin 2 (edge) at VEC0. At CPL 3
 * with interrupts on it then pulses GSI 5 and GSI 0 through the test device (ACC_MMIO + 0x28,
 * accel.h) ROUNDS times each and waits for each interrupt: GSI 0 must arrive on pin 2 (the PC's
 * interrupt source override). Under KVM with kernel-irqchip=on the lines are KVM_IRQ_LINE and
 * the I/O APIC is KVM's (whose routes also drive its 8259, still unprogrammed here: the guest
 * masks LINT0, where KVM's boot CPU takes the 8259's ExtINT after reset, as an OS does). */
#define TEST_BASE 0x1700
#include "testlib.inc"
#include "accel.h"

#define LAPIC_PHYS 0xfee00000
#define IOAPIC_PHYS 0xfec00000
#define LAPIC WIN_PAGE(0)
#define IOAPIC WIN_PAGE(1)
#define VEC5 0x55
#define VEC0 0x52
#define ROUNDS 5

/* IOAPIC[reg] = value (32-bit). Clobbers nothing else. */
.macro IOAPIC_WRITE reg, value
        movl $(\reg), IOAPIC
        movl $(\value), IOAPIC + 0x10
.endm

        .text
test_main:
        USE_UD2_RETURN
        mov $(LAPIC_PHYS | PTE_P | PTE_RW | 0x18), %eax  /* PCD | PWT */
        mov %rax, gt_pt_win(%rip)
        invlpg LAPIC
        mov $(IOAPIC_PHYS | PTE_P | PTE_RW | 0x18), %eax
        mov %rax, gt_pt_win + 8(%rip)
        invlpg IOAPIC
        movl $0x1ff, LAPIC + 0xf0      /* spurious vector register: enabled, vector 0xff */
        movl $0, LAPIC + 0x80          /* task priority 0 */
        movl $0x10000, LAPIC + 0x350   /* LINT0 masked: no 8259 (KVM's BSP starts with ExtINT) */
        IOAPIC_WRITE (0x10+2*5), VEC5  /* pin 5: fixed, physical, edge, high, unmasked */
        IOAPIC_WRITE (0x11+2*5), 0     /* to APIC ID 0 */
        IOAPIC_WRITE (0x10+2*2), VEC0  /* pin 2 */
        IOAPIC_WRITE (0x11+2*2), 0
        movl $(0x10 + 2 * 5), IOAPIC
        movl IOAPIC + 0x10, %ebx
        CHECK_EQ %rbx, $VEC5, "the I/O APIC kept pin 5's entry"
        lea irq_hook(%rip), %rax
        mov %rax, gt_exc_hook(%rip)
        RUN_USER user_main, rflags=0x202
        CHECK_EQ MB_VEC, $VEC_RETURN, "the user code returned through its gate"
        CHECK_EQ count5(%rip), $ROUNDS, "every GSI 5 pulse was taken once"
        CHECK_EQ count0(%rip), $ROUNDS, "every GSI 0 pulse was taken once, on pin 2"
        CHECK_EQ in_user(%rip), $(2 * ROUNDS), "every interrupt interrupted user mode"
        ret

/* %rdi = the saved area; %eax = 0 resumes with IRETQ. */
irq_hook:
        cmpq $VEC5, SV_VEC(%rdi)
        jne 1f
        incq count5(%rip)
        jmp 2f
1:      cmpq $VEC0, SV_VEC(%rdi)
        jne 3f
        incq count0(%rip)
2:      testq $3, SV_CS(%rdi)
        jz 4f
        incq in_user(%rip)
4:      movl $0, LAPIC + 0xb0          /* EOI */
        xor %eax, %eax
        ret
3:      mov $1, %eax
        ret

/* Pulses GSI %edi and waits until *%rsi == %rbx. */
pulse_and_wait:
        mov %edi, %eax
        or $0x100, %eax
        mov %rax, ACC_MMIO + 0x28      /* raise */
        mov %edi, %eax
        mov %rax, ACC_MMIO + 0x28      /* lower */
        mov $200000000, %ecx
1:      cmp (%rsi), %rbx
        je 2f
        dec %ecx
        jnz 1b
2:      ret

user_main:
        xor %ebx, %ebx
1:      inc %rbx
        mov $5, %edi
        lea count5(%rip), %rsi
        call pulse_and_wait
        CHECK_EQ count5(%rip), %rbx, "the GSI 5 interrupt arrived"
        xor %edi, %edi
        lea count0(%rip), %rsi
        call pulse_and_wait
        CHECK_EQ count0(%rip), %rbx, "the GSI 0 interrupt arrived"
        cmp $ROUNDS, %rbx
        jne 1b
        USER_RETURN

        .data
        .balign 8
count5:
        .quad 0
count0:
        .quad 0
in_user:
        .quad 0
